import Foundation
import SriovGRPC
import SriovTestSupport

/// A simulated node: a sysfs tree made by `sriov-agent simulate`, changed
/// through the same command (faults, drift) as an operator would.
struct SimulatedNode: Sendable {
    static var agentBinary: String { RepoPaths.binary("sriov-agent") }

    let directory: String
    var sysfsRoot: String { directory + "/sysfs" }
    var stateDir: String { directory + "/state" }

    /// Builds a fresh tree with `nics` (e.g. `xl710:1`).
    init(nics: String) throws {
        directory = try RepoPaths.temporaryDirectory("sriov-e2e-node").path
        try simulate(["--nics", nics])
    }

    /// Runs `sriov-agent simulate --sysfs-root ROOT ARGS...`.
    @discardableResult
    func simulate(_ arguments: [String]) throws -> String {
        let r = try TestProcess.run(Self.agentBinary, ["simulate", "--sysfs-root", sysfsRoot] + arguments, timeout: 60)
        guard r.status == 0 else {
            throw RPCError(code: .internal, message: "sriov-agent simulate \(arguments.joined(separator: " ")) exited \(r.status): \(r.output)")
        }
        return r.stdout
    }

    /// An attribute as a plain read of the tree sees it, without the newline.
    func read(_ path: String) -> String? {
        (try? String(contentsOfFile: sysfsRoot + "/" + path, encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }

    /// The `virtfnN` links of a PF.
    func virtualFunctions(_ pci: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sysfsRoot + "/sys/bus/pci/devices/" + pci)) ?? []
        return names.filter { $0.hasPrefix("virtfn") }.sorted()
    }

    /// Every entry of the tree with its content (or link target) and
    /// modification time: equal snapshots mean nothing was written between
    /// them (the simulated kernel rewrites an attribute on every write).
    func snapshot() -> [String: String] {
        var result: [String: String] = [:]
        let root = sysfsRoot + "/sys"
        guard let walker = FileManager.default.enumerator(atPath: root) else { return result }
        while let relative = walker.nextObject() as? String {
            let path = root + "/" + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let mtime = "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            let kind = st.st_mode & UInt32(S_IFMT)
            if kind == UInt32(S_IFLNK) {
                result[relative] = "-> \((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?") @\(mtime)"
            } else if kind == UInt32(S_IFREG) {
                result[relative] = "\((try? String(contentsOfFile: path, encoding: .utf8)) ?? "?") @\(mtime)"
            }
        }
        return result
    }
}

/// The real `sriov-agent` binary on a simulated node, connected to a
/// ``ControllerProcess``, stopped by its PID.
final class AgentProcess: @unchecked Sendable {
    // Safe: `process` is only touched by the test that owns the agent.
    let node: SimulatedNode
    let name: String
    let logPath: String
    private var process: Process?

    /// Starts `sriov-agent` for node `name` (certificate `node-NAME`) with
    /// the controller at `port` (and the replicas at `otherPorts`, tried in
    /// turn when one goes away).
    init(node: SimulatedNode, name: String, controllerPort port: Int, otherPorts: [Int] = [], certs: TestCertificates,
         labels: [String] = ["sriov=true"], arguments: [String] = []) throws {
        self.node = node
        self.name = name
        logPath = node.directory + "/agent.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: SimulatedNode.agentBinary)
        p.arguments = [
            "--controller", ([port] + otherPorts).map { "127.0.0.1:\($0)" }.joined(separator: ","), "--node-name", name,
            "--tls-cert", certs.path("node-\(name).crt"), "--tls-key", certs.path("node-\(name).key"), "--tls-ca", certs.path("ca.crt"),
            "--sysfs-root", node.sysfsRoot, "--state-dir", node.stateDir, "--log-level", "debug",
        ] + labels.flatMap { ["--label", $0] } + arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: logPath)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// How many log lines carry `message`.
    func count(_ message: String) -> Int {
        log.split(separator: "\n").filter { $0.contains(message) }.count
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// SIGTERM by PID, then SIGKILL after 10 s; the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let p = process else { return 0 }
        process = nil
        return p.stopByPID(signal: SIGTERM)
    }

    deinit { stop() }
}
