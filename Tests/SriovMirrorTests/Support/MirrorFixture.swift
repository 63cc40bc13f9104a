import Foundation
import Logging
import SriovAPI
import SriovGRPC
import SriovMirror
import SriovProto
import SriovTestSupport
import Synchronization

/// Certificates of the mirror tests: a CA, the controller (also the test
/// API server's serving certificate: SANs localhost and 127.0.0.1), the
/// mirror's viewer and operator identities, nodes `worker-0`..`worker-2`.
struct MirrorCertificates: Sendable {
    let directory: String

    static let shared: Result<MirrorCertificates, any Error> = Result {
        let dir = try RepoPaths.temporaryDirectory("sriov-mirror-certs").path
        let r = try TestProcess.run("/bin/bash", [
            RepoPaths.path("certs/make-certs.sh"), dir, "--viewer", "mirror", "--operator", "mirror", "--operator", "admin",
            "--node", "worker-0", "--node", "worker-1", "--node", "worker-2",
        ])
        guard r.status == 0 else { throw FixtureError("make-certs.sh failed: \(r.output)") }
        return MirrorCertificates(directory: dir)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func client(_ identity: String) -> TLSConfiguration {
        TLSConfiguration(certificatePath: path("\(identity).crt"), privateKeyPath: path("\(identity).key"), trustRootsPath: path("ca.crt"))
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A child process started by a test, stopped by its PID.
final class ChildProcess: @unchecked Sendable {
    // Safe: used from one test task at a time.
    let executable: String
    let arguments: [String]
    let logPath: String
    private(set) var process: Process?

    init(_ executable: String, _ arguments: [String], logPath: String) {
        self.executable = executable
        self.arguments = arguments
        self.logPath = logPath
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Starts the process and waits until its log contains `ready`.
    func start(ready: String) async throws {
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let handle = FileHandle(forWritingAtPath: logPath)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if log.contains(ready) { return }
            if !p.isRunning { throw FixtureError("\(executable) exited with \(p.terminationStatus): \(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop(signal: SIGKILL)
        throw FixtureError("\(executable) did not become ready: \(log)")
    }

    /// Signals the process and waits for it (10 s, then SIGKILL).
    func stop(signal: Int32 = SIGTERM) {
        guard let p = process else { return }
        process = nil
        p.stopByPID(signal: signal)
    }

    deinit { stop(signal: SIGKILL) }
}

/// The real controller, the test API server and the mirror in process, all
/// on loopback; each side restartable on its port.
final class MirrorFixture: @unchecked Sendable {
    // Safe: used from one test task at a time.
    static let token = "mirror-test-token"
    let certs: MirrorCertificates
    let workDir: String
    let controllerPort: Int
    let apiPort: Int
    let controller: ChildProcess
    let apiServer: ChildProcess
    let kube: KubeClient
    private var mirrorTask: Task<Void, Never>?
    private(set) var mirror: ClusterMirror?
    private var channels: [GRPCChannel] = []

    init(historyRevisions: Int = 100_000) throws {
        certs = try MirrorCertificates.shared.get()
        workDir = try RepoPaths.temporaryDirectory("sriov-mirror").path
        controllerPort = try LoopbackSockets.freePort()
        apiPort = try LoopbackSockets.freePort()
        controller = ChildProcess(
            RepoPaths.binary("sriov-controller"),
            [
                "--listen", "127.0.0.1:\(controllerPort)", "--data-dir", workDir + "/controller", "--threads", "2",
                "--tls-cert", certs.path("controller.crt"), "--tls-key", certs.path("controller.key"),
                "--tls-ca", certs.path("ca.crt"), "--history-revisions", String(historyRevisions),
            ],
            logPath: workDir + "/controller.log")
        let python = RepoPaths.python ?? "/usr/bin/python3"
        apiServer = ChildProcess(
            python,
            [
                RepoPaths.path("Tests/interop/kube_apiserver.py"), "--cert", certs.path("controller.crt"),
                "--key", certs.path("controller.key"), "--token", Self.token, "--port", String(apiPort),
                "--bookmark-interval", "0.5", "--state", workDir + "/apiserver-state.json",
            ],
            logPath: workDir + "/apiserver.log")
        var config = KubeConfig(host: "127.0.0.1", port: apiPort, caPath: certs.path("ca.crt"), token: Self.token)
        config.namespace = "sriov-network-operator"
        kube = try KubeClient(config: config)
        try FileManager.default.createDirectory(atPath: workDir + "/controller", withIntermediateDirectories: true)
    }

    func startController() async throws { try await controller.start(ready: "sriov-controller ready") }
    func startAPIServer() async throws { try await apiServer.start(ready: "listening ") }

    /// Starts the mirror in this process with `configuration` (fast resync
    /// and backoff for tests unless given).
    func startMirror(_ configuration: MirrorConfiguration? = nil, identity: String = "viewer-mirror") throws {
        var c = configuration ?? MirrorConfiguration()
        if configuration == nil {
            c.initialBackoff = .milliseconds(50)
            c.maxBackoff = .seconds(1)
        }
        let channel = try channel(identity)
        var logger = Logger(label: "sriov-mirror-test")
        logger.logLevel = .critical
        let m = ClusterMirror(configuration: c, controller: channel, kube: kube, logger: logger)
        mirror = m
        mirrorTask = Task { await m.run() }
    }

    func stopMirror() async {
        mirrorTask?.cancel()
        await mirrorTask?.value
        mirrorTask = nil
    }

    /// A channel to the controller presenting `identity`.
    func channel(_ identity: String) throws -> GRPCChannel {
        let c = try GRPCChannel(configuration: ClientConfiguration(
            target: .host("127.0.0.1", port: controllerPort), security: .tls(certs.client(identity))))
        channels.append(c)
        return c
    }

    // MARK: reading the test API server

    func get(_ path: String) async throws -> CRValue? {
        let r = try await kube.send("GET", path)
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw FixtureError("GET \(path): \(r.status) \(String(decoding: r.body, as: UTF8.self))") }
        return try r.json()
    }

    func list(_ path: String) async throws -> [CRValue] {
        guard case .array(let items)? = try await get(path)?["items"] else { return [] }
        return items
    }

    func nodeState(_ name: String) async throws -> CRValue? {
        try await get(KubePaths.nodeState(namespace: "sriov-network-operator", name: name))
    }

    /// Calls a test control of the API server.
    @discardableResult
    func control(_ method: String, _ path: String, _ body: String? = nil) async throws -> CRValue {
        let r = try await kube.send(method, path, contentType: body == nil ? nil : "application/json", body: body.map { Array($0.utf8) })
        guard r.status == 200 else { throw FixtureError("\(method) \(path): \(r.status)") }
        return try r.json()
    }

    /// Requests the API server served (method, path) since the last reset.
    func servedRequests() async throws -> [(method: String, path: String)] {
        guard case .array(let items)? = try await control("GET", "/_test/requests")["requests"] else { return [] }
        return items.compactMap { item in
            guard let m = item["method"], case .string(let method) = m, let p = item["path"], case .string(let path) = p else { return nil }
            return (method, path)
        }
    }

    /// Waits until `condition` holds (polling every 50 ms) or fails after `timeout`.
    func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                if try await condition() { return }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FixtureError("timed out waiting for \(what)\(lastError.map { " (last error: \($0))" } ?? "")\ncontroller log: \(controller.log.suffix(2000))\napiserver log: \(apiServer.log.suffix(2000))")
    }

    // MARK: controller side

    /// Reports inventory for `node` (as that node), so the controller has a
    /// node state for it.
    func reportInventory(_ node: String) async throws {
        let channel = try channel("node-\(node)")
        var r = SriovV1.InventoryReport()
        r.nodeName = node
        r.labels = ["sriov": "true"]
        r.interfaces = [Self.pf("ens1f0", pci: "0000:86:00.0"), Self.pf("ens1f1", pci: "0000:86:00.1")]
        r.sequence = 1
        _ = try await channel.clientStreaming(SriovV1.Agent.streamInventory, timeout: .seconds(10)) { w in try await w.write(r) }
    }

    /// Reports a status for `node` at its current generation.
    func reportStatus(_ node: String, syncStatus: String, error: String = "") async throws {
        let op = try channel("operator-admin")
        var get = SriovV1.GetRequest()
        get.name = node
        let current = try await op.unary(SriovV1.Operator.getNodeState, get)
        var report = SriovV1.StatusReport()
        report.nodeName = node
        report.generation = current.metadata.generation
        report.syncStatus = syncStatus
        report.lastSyncError = error
        report.interfaces = [Self.pf("ens1f0", pci: "0000:86:00.0"), Self.pf("ens1f1", pci: "0000:86:00.1")]
        _ = try await channel("node-\(node)").unary(SriovV1.Agent.reportStatus, report)
    }

    func applyPolicy(_ name: String, numVfs: Int32 = 4, resource: String = "intelnics") async throws {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata.name = name
        p.spec.resourceName = resource
        p.spec.nodeSelector = ["sriov": "true"]
        p.spec.numVfs = numVfs
        p.spec.nicSelector.vendor = "8086"
        p.spec.nicSelector.pfNames = ["ens1f0"]
        p.spec.deviceType = "netdevice"
        var req = SriovV1.ApplyPolicyRequest()
        req.policy = p
        _ = try await channel("operator-admin").unary(SriovV1.Operator.applyPolicy, req)
    }

    func applyNetwork(_ name: String, namespace: String = "tenant-a", resource: String = "intelnics", vlan: Int32 = 0) async throws {
        var n = SriovV1.SriovNetwork()
        n.metadata.name = name
        n.spec.resourceName = resource
        n.spec.networkNamespace = namespace
        n.spec.vlan = vlan
        n.spec.ipam = #"{"type":"host-local","subnet":"10.56.217.0/24"}"#
        var req = SriovV1.ApplyNetworkRequest()
        req.network = n
        _ = try await channel("operator-admin").unary(SriovV1.Operator.applyNetwork, req)
    }

    static func pf(_ name: String, pci: String) -> SriovV1.InterfaceExt {
        var i = SriovV1.InterfaceExt()
        i.name = name
        i.pciAddress = pci
        i.vendor = "8086"
        i.deviceID = "1583"
        i.driver = "i40e"
        i.totalvfs = 64
        i.mtu = 1500
        i.linkType = "ETH"
        return i
    }

    /// Stops everything it started.
    func shutdown() async {
        await stopMirror()
        for c in channels { c.close() }
        controller.stop()
        apiServer.stop()
    }

    /// Stops everything without awaiting the mirror's task (it is cancelled):
    /// for a `defer`, so that the controller and the API server are stopped,
    /// by PID, before the test returns whichever way it ends.
    func shutdownNow() {
        mirrorTask?.cancel()
        mirrorTask = nil
        for c in channels { c.close() }
        controller.stop()
        apiServer.stop()
    }
}
