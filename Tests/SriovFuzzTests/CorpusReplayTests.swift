import Foundation
import SriovFuzzTargets
import SriovTestSupport
import Testing

/// Replays the committed fuzz corpus of every target (seeds, inputs the
/// campaigns kept, and every input that once broke an invariant) through
/// the same code libFuzzer runs. A target that breaks an invariant stops the
/// process, so a regression fails the run.
@Suite struct CorpusReplayTests {
    @Test(arguments: FuzzTarget.allCases)
    func corpusReplays(_ target: FuzzTarget) throws {
        let directory = RepoPaths.path(target.corpusPath)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names.count >= 5, "the \(target.rawValue) corpus in \(target.corpusPath) holds only \(names.count) inputs")
        for name in names {
            let data = try #require(FileManager.default.contents(atPath: "\(directory)/\(name)"), "\(name) cannot be read")
            target.run([UInt8](data))
        }
    }
}
