import Foundation

/// Runs a child process to completion and captures its output (tests only).
public struct TestProcess: Sendable {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// stdout and stderr together, for failure messages.
        public var output: String { stdout + (stderr.isEmpty ? "" : "\n[stderr]\n" + stderr) }
    }

    /// Runs `executable` with `arguments` in `directory` (default: the repository
    /// root), killing it (by its PID) when it outlives `timeout` seconds.
    public static func run(
        _ executable: String, _ arguments: [String], directory: String? = nil,
        environment: [String: String] = [:], timeout: TimeInterval = 120
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? RepoPaths.root.path)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        // Read both pipes concurrently so neither fills up and blocks the child.
        let errData = LockedData()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData.set(errPipe.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        killer.cancel()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.get(), as: UTF8.self))
    }
}

private final class LockedData: @unchecked Sendable {
    // Safe: every access holds `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}

extension Process {
    /// Sends `signal` to this process (by its PID) and waits for it to exit;
    /// after `grace` seconds it is killed with SIGKILL. Returns the exit
    /// status.
    @discardableResult
    public func stopByPID(signal: Int32 = SIGTERM, grace: TimeInterval = 10) -> Int32 {
        kill(processIdentifier, signal)
        let deadline = Date().addingTimeInterval(grace)
        while isRunning && Date() < deadline { usleep(10_000) }
        if isRunning {
            kill(processIdentifier, SIGKILL)
            while isRunning { usleep(10_000) }
        }
        return terminationStatus
    }
}
