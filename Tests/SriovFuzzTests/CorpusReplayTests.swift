import Foundation
import SriovFuzzTargets
import SriovTestSupport
import Testing

/// Replays the committed fuzz corpus of every target (seeds, inputs the
/// campaigns kept, and every input that once broke an invariant) through
/// the same code libFuzzer runs. A target that breaks an invariant stops the
/// process, so a regression fails the run.
@Suite(.timeLimit(.minutes(5)), .serialized)
struct CorpusReplayTests {
    @Test(arguments: FuzzTarget.allCases)
    func corpusReplays(_ target: FuzzTarget) async throws {
        let directory = RepoPaths.path(target.corpusPath)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names.count >= 5, "the \(target.rawValue) corpus in \(target.corpusPath) holds only \(names.count) inputs")
        var inputs: [[UInt8]] = []
        for name in names {
            let data = try #require(FileManager.default.contents(atPath: "\(directory)/\(name)"), "\(name) cannot be read")
            inputs.append([UInt8](data))
        }
        // The targets block their thread while a server or client of the
        // runtime works on others (as under libFuzzer, which calls them from
        // the main thread): run them on a thread of their own, never on one
        // of the cooperative pool the runtime's handlers and calls need.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let replay = inputs
            Thread {
                for input in replay { target.run(input) }
                done.resume()
            }.start()
        }
    }
}
