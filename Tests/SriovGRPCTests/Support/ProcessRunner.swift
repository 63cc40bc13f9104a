import Foundation
import Logging
import SriovGRPC
import Synchronization

/// Runs helper processes of the tests (Python peers, grpcurl, our binaries).
enum ProcessRunner {
    /// The venv Python: `SRIOV_TEST_PYTHON`, else `<repo>/.venv/bin/python`.
    static var python: String {
        ProcessInfo.processInfo.environment["SRIOV_TEST_PYTHON"] ?? CertificateDirectory.repoRoot + "/.venv/bin/python"
    }

    static var interopDirectory: String { CertificateDirectory.repoRoot + "/Tests/interop" }

    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs to completion, killing the process after `timeout`. The wait
    /// happens on a thread of its own (see ``offPool(_:)``).
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> Output {
        try await offPool { try runBlocking(executable, arguments, timeout: timeout) }
    }

    static func runBlocking(_ executable: String, _ arguments: [String], timeout: Duration) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        // Files, not pipes: reading pipes through Foundation traps on EINTR.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-grpc-run-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        p.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        p.standardError = FileHandle(forWritingAtPath: base + ".err")
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let pid = p.processIdentifier
        let done = Atomic<Bool>(false)
        let killer = Thread {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline && !done.load(ordering: .relaxed) { usleep(20_000) }
            if !done.load(ordering: .relaxed) { kill(pid, SIGKILL) }
        }
        killer.start()
        p.waitUntilExit()
        done.store(true, ordering: .relaxed)
        // Lossy: a peer's binary bytes (s_client prints what it receives)
        // must not turn the whole output into nothing.
        let o = String(decoding: FileManager.default.contents(atPath: base + ".out") ?? Data(), as: UTF8.self)
        let e = String(decoding: FileManager.default.contents(atPath: base + ".err") ?? Data(), as: UTF8.self)
        return Output(status: p.terminationStatus, stdout: o, stderr: e)
    }
}

/// Runs blocking work (waiting for a child process or a pipe) on a thread of
/// its own. Swift's cooperative pool has one thread per core, two here: a
/// test blocking one of them stalls the tasks of every other test running
/// alongside, and timing-dependent tests then fail for no reason of theirs.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}

/// ``readLine(from:timeout:)`` off the cooperative pool.
func readLineOffPool(from pipe: Pipe, timeout: Duration = .seconds(20)) async -> String {
    (try? await offPool { readLine(from: pipe, timeout: timeout) }) ?? ""
}

/// Reads a line from a pipe with read(2), retrying EINTR (Foundation's
/// `availableData` traps on it).
func readLine(from pipe: Pipe, timeout: Duration = .seconds(20)) -> String {
    let fd = pipe.fileHandleForReading.fileDescriptor
    var text: [UInt8] = []
    var byte: UInt8 = 0
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let n = read(fd, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        if byte == UInt8(ascii: "\n") { break }
        text.append(byte)
    }
    return String(decoding: text, as: UTF8.self)
}

/// A Python peer from `Tests/interop` that prints `PORT <n>` once listening
/// and runs until its stdin closes. Stopped by its PID only.
final class PythonPeer: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let stdin = Pipe()
    private var stopped = false

    /// Starts the peer and waits (off the cooperative pool) for its port.
    static func start(_ script: String, _ arguments: [String] = []) async throws -> PythonPeer {
        try await offPool { try PythonPeer(script, arguments) }
    }

    private init(_ script: String, _ arguments: [String]) throws {
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: ProcessRunner.python)
        process.arguments = [ProcessRunner.interopDirectory + "/" + script] + arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = readLine(from: stdout).trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw RPCError(code: .internal, message: "\(script) did not report its port (got \"\(line)\")")
        }
        self.port = port
    }

    var pid: Int32 { process.processIdentifier }

    /// Freezes the peer (SIGSTOP): its sockets stay open but go silent.
    func freeze() { kill(pid, SIGSTOP) }

    func stop() {
        guard !stopped else { return }
        stopped = true
        try? stdin.fileHandleForWriting.close()
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}
