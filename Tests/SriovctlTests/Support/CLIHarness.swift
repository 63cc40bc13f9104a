import Foundation
import SriovGRPC
import SriovProto
import SriovTestSupport

/// Development certificates for the CLI tests: a CA with the controller,
/// operator `admin`, viewer `view` and nodes `worker-0`..`worker-2`, and a
/// second, unrelated CA with its own `operator-admin` (a certificate the
/// controller must refuse).
struct CLICertificates: Sendable {
    let directory: String
    let foreign: String

    static let shared: Result<CLICertificates, any Error> = Result {
        let dir = try RepoPaths.temporaryDirectory("sriovctl-certs").path
        let other = try RepoPaths.temporaryDirectory("sriovctl-foreign-certs").path
        for (out, extra) in [(dir, ["--viewer", "view", "--node", "worker-0", "--node", "worker-1", "--node", "worker-2"]), (other, [])] {
            let r = try TestProcess.run("/bin/bash", [RepoPaths.root.path + "/certs/make-certs.sh", out, "--operator", "admin"] + extra)
            guard r.status == 0 else { throw RPCError(code: .internal, message: "make-certs.sh failed: \(r.output)") }
        }
        return CLICertificates(directory: dir, foreign: other)
    }

    func path(_ name: String) -> String { directory + "/" + name }
}

/// The real `sriov-controller` on loopback (a free port, or a fixed one so a
/// restart keeps the address), stopped by its PID.
final class CLIController: @unchecked Sendable {
    static let binary = RepoPaths.binary("sriov-controller")

    let certs: CLICertificates
    let dataDir: String
    private(set) var process: Process?
    private(set) var port: Int
    private(set) var logPath = ""
    private var runs = 0

    init(port: Int = 0) throws {
        certs = try CLICertificates.shared.get()
        dataDir = try RepoPaths.temporaryDirectory("sriovctl-controller").path
        self.port = port
    }

    var address: String { "127.0.0.1:\(port)" }

    func start() async throws {
        runs += 1
        logPath = dataDir + "-\(runs).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = [
            "--listen", "127.0.0.1:\(port)", "--data-dir", dataDir, "--threads", "2",
            "--tls-cert", certs.path("controller.crt"), "--tls-key", certs.path("controller.key"), "--tls-ca", certs.path("ca.crt"),
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: logPath)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if log.contains("sriov-controller ready"), let m = log.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), let port = Int(m.1) {
                self.port = port
                return
            }
            if !p.isRunning { throw RPCError(code: .unavailable, message: "sriov-controller exited: \(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop(signal: SIGKILL)
        throw RPCError(code: .deadlineExceeded, message: "sriov-controller did not become ready")
    }

    /// Stops the process (SIGTERM, then SIGKILL after 10 s).
    func stop(signal: Int32 = SIGTERM) {
        guard let p = process else { return }
        process = nil
        p.stopByPID(signal: signal)
    }

    /// A channel presenting `identity` (`node-worker-0`, `operator-admin`, ...).
    func channel(_ identity: String) throws -> GRPCChannel {
        try GRPCChannel(configuration: ClientConfiguration(
            target: .host("127.0.0.1", port: port),
            security: .tls(TLSConfiguration(certificatePath: certs.path("\(identity).crt"), privateKeyPath: certs.path("\(identity).key"), trustRootsPath: certs.path("ca.crt")))))
    }

    /// Reports `node`'s inventory as its agent would.
    func reportInventory(_ node: String, labels: [String: String], pfs: [SriovV1.InterfaceExt]) async throws {
        let ch = try channel("node-\(node)")
        defer { ch.close() }
        var r = SriovV1.InventoryReport()
        r.nodeName = node
        r.labels = labels
        r.interfaces = pfs
        r.sequence = 1
        _ = try await ch.clientStreaming(SriovV1.Agent.streamInventory, timeout: .seconds(10)) { try await $0.write(r) }
    }

    /// Reports a sync status for `node`'s current generation.
    func reportStatus(_ node: String, _ status: String, error: String = "", pfs: [SriovV1.InterfaceExt]) async throws {
        let ch = try channel("node-\(node)")
        defer { ch.close() }
        var get = SriovV1.GetRequest()
        get.name = node
        let op = try channel("operator-admin")
        defer { op.close() }
        let state = try await op.unary(SriovV1.Operator.getNodeState, get, timeout: .seconds(10))
        var r = SriovV1.StatusReport()
        r.nodeName = node
        r.generation = state.metadata.generation
        r.syncStatus = status
        r.lastSyncError = error
        r.interfaces = pfs
        _ = try await ch.unary(SriovV1.Agent.reportStatus, r, timeout: .seconds(10))
    }

    deinit { stop(signal: SIGKILL) }
}

/// Runs the `sriovctl` binary.
enum Sriovctl {
    static let binary = RepoPaths.binary("sriovctl")

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { "status \(status)\n[stdout]\n\(stdout)\n[stderr]\n\(stderr)" }
    }

    /// Runs `sriovctl ARGS` with an empty config home and `environment`
    /// (the connection of `identity` to `controller` unless
    /// `connect` is false).
    static func run(
        _ arguments: [String], controller: CLIController? = nil, identity: String = "operator-admin",
        environment: [String: String] = [:], stdin: String? = nil, configHome: String? = nil, timeout: TimeInterval = 60
    ) throws -> Result {
        var env: [String: String] = [
            "XDG_CONFIG_HOME": try configHome ?? RepoPaths.temporaryDirectory("sriovctl-home").path,
            "SRIOVCTL_CONFIG": "", "SRIOVCTL_SERVER": "", "SRIOVCTL_TLS_CERT": "", "SRIOVCTL_TLS_KEY": "", "SRIOVCTL_TLS_CA": "", "SRIOVCTL_CONTEXT": "",
        ]
        if let c = controller {
            env["SRIOVCTL_SERVER"] = c.address
            env["SRIOVCTL_TLS_CERT"] = c.certs.path("\(identity).crt")
            env["SRIOVCTL_TLS_KEY"] = c.certs.path("\(identity).key")
            env["SRIOVCTL_TLS_CA"] = c.certs.path("ca.crt")
        }
        for (k, v) in environment { env[k] = v }
        var args = arguments
        var exe = binary
        if let stdin {
            // Through a shell so the text arrives on standard input.
            let file = try RepoPaths.temporaryDirectory("sriovctl-stdin").path + "/input"
            try stdin.write(toFile: file, atomically: true, encoding: .utf8)
            args = ["-c", "exec \"$0\" \"$@\" < '\(file)'", binary] + arguments
            exe = "/bin/sh"
        }
        let r = try TestProcess.run(exe, args, environment: env, timeout: timeout)
        return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }
}

/// A background `sriovctl` (watch), its output in a file, stopped by PID.
final class BackgroundSriovctl: @unchecked Sendable {
    let process = Process()
    let outPath: String

    init(_ arguments: [String], controller: CLIController) throws {
        let dir = try RepoPaths.temporaryDirectory("sriovctl-watch").path
        outPath = dir + "/out"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Sriovctl.binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["XDG_CONFIG_HOME"] = dir
        env["SRIOVCTL_SERVER"] = controller.address
        env["SRIOVCTL_TLS_CERT"] = controller.certs.path("operator-admin.crt")
        env["SRIOVCTL_TLS_KEY"] = controller.certs.path("operator-admin.key")
        env["SRIOVCTL_TLS_CA"] = controller.certs.path("ca.crt")
        env["SRIOVCTL_CONTEXT"] = nil
        process.environment = env
        // One handle for both, so stderr lines do not overwrite stdout.
        let handle = FileHandle(forWritingAtPath: outPath)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }

    /// Waits (bounded) until the output satisfies `condition`.
    func waitFor(_ seconds: Double = 20, _ condition: (String) -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(output) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition(output)
    }

    func waitForExit(_ seconds: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// What the tests' nodes report.
enum Inventory {
    /// An Intel XL710 port, as the seed example's policy selects it.
    static func xl710(_ name: String, pci: String, numVfs: Int32 = 0, vfDriver: String = "vfio-pci") -> SriovV1.InterfaceExt {
        var i = SriovV1.InterfaceExt()
        i.name = name
        i.pciAddress = pci
        i.vendor = "8086"
        i.deviceID = "1583"
        i.driver = "i40e"
        i.totalvfs = 64
        i.numVfs = numVfs
        i.mtu = 1500
        i.linkType = "ETH"
        i.linkSpeed = "40000 Mb/s"
        i.linkAdminState = "up"
        i.mac = "3c:fd:fe:01:00:00"
        i.vfs = (0..<numVfs).map { n in
            var vf = SriovV1.VirtualFunction()
            vf.vfID = n
            vf.driver = vfDriver
            vf.pciAddress = String(format: "0000:87:00.%d", n)
            return vf
        }
        return i
    }

    static let label = ["feature.node.kubernetes.io/sriov-capable": "true"]
}

/// Normalizes what varies between runs: ages, timestamps, resource versions.
enum Golden {
    static func normalize(_ text: String) -> String {
        var t = text.replacing(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \([^)]*\)/, with: "<time>")
        t = t.replacing(/(Resource Version:\s+)\d+/) { "\($0.1)<rv>" }
        // The AGE column is the last of the default tables.
        t = t.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard let m = line.firstMatch(of: /^(.*   )(\d+[smhdy][0-9smhdy]*|<unknown>)$/) else { return String(line) }
            return String(m.1) + "<age>"
        }.joined(separator: "\n")
        return t
    }

    /// Compares with `Tests/SriovctlTests/Golden/NAME`; with
    /// `SRIOV_UPDATE_GOLDEN=1` the file is rewritten instead.
    static func check(_ actual: String, _ name: String) throws -> (matches: Bool, expected: String) {
        let path = RepoPaths.path("Tests/SriovctlTests/Golden/" + name)
        let normalized = normalize(actual)
        if ProcessInfo.processInfo.environment["SRIOV_UPDATE_GOLDEN"] == "1" {
            try normalized.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let expected = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing \(name)>"
        return (expected == normalized, expected)
    }
}
