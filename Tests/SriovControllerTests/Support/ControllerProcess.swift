import Foundation
import SriovGRPC
import SriovProto
import SriovTestSupport
import Synchronization

/// Development certificates for the controller tests: a CA, the controller,
/// operator `admin`, viewer `view`, nodes `worker-0`..`worker-2`.
struct TestCertificates: Sendable {
    let directory: String

    static let shared: Result<TestCertificates, any Error> = Result {
        let dir = try RepoPaths.temporaryDirectory("sriov-controller-certs").path
        let r = try TestProcess.run("/bin/bash", [
            RepoPaths.root.path + "/certs/make-certs.sh", dir, "--operator", "admin", "--viewer", "view",
            "--node", "worker-0", "--node", "worker-1", "--node", "worker-2",
        ])
        guard r.status == 0 else { throw RPCError(code: .internal, message: "make-certs.sh failed: \(r.output)") }
        return TestCertificates(directory: dir)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Client TLS presenting `identity` (`operator-admin`, `viewer-view`,
    /// `node-worker-0`, ...).
    func client(_ identity: String) -> TLSConfiguration {
        TLSConfiguration(certificatePath: path("\(identity).crt"), privateKeyPath: path("\(identity).key"), trustRootsPath: path("ca.crt"))
    }
}

/// The real `sriov-controller` binary, started on loopback with a data
/// directory, stopped by its PID.
final class ControllerProcess: @unchecked Sendable {
    static var binary: String { RepoPaths.binary("sriov-controller") }

    let certs: TestCertificates
    let dataDir: String
    let extraArguments: [String]
    private(set) var process: Process?
    private(set) var port = 0
    private(set) var logPath = ""
    private var runs = 0

    init(dataDir: String? = nil, arguments: [String] = []) throws {
        certs = try TestCertificates.shared.get()
        self.dataDir = try dataDir ?? RepoPaths.temporaryDirectory("sriov-controller-data").path
        extraArguments = arguments
    }

    /// Starts the controller and waits until it says it is ready; `port`
    /// 0 picks a free port (a restart passes the previous one).
    func start(port requested: Int = 0) async throws {
        runs += 1
        logPath = dataDir + "/../controller-\(URL(fileURLWithPath: dataDir).lastPathComponent)-\(runs).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = [
            "--listen", "127.0.0.1:\(requested)", "--data-dir", dataDir, "--threads", "2",
            "--tls-cert", certs.path("controller.crt"), "--tls-key", certs.path("controller.key"), "--tls-ca", certs.path("ca.crt"),
        ] + extraArguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: logPath)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let log = self.log
            if log.contains("sriov-controller ready"), let m = log.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), let port = Int(m.1) {
                self.port = port
                return
            }
            if !p.isRunning {
                throw RPCError(code: .unavailable, message: "sriov-controller exited with \(p.terminationStatus): \(log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop(signal: SIGKILL)
        throw RPCError(code: .deadlineExceeded, message: "sriov-controller did not become ready: \(log)")
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` to the process and waits for it to exit (10 s, then
    /// SIGKILL).
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        guard let p = process else { return 0 }
        process = nil
        return p.stopByPID(signal: signal)
    }

    /// A channel presenting `identity`.
    func channel(_ identity: String) throws -> GRPCChannel {
        try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: port), security: .tls(certs.client(identity))))
    }

    deinit { stop(signal: SIGKILL) }
}

extension ControllerProcess {
    /// A controller whose store is `cluster`, under `prefix`, with
    /// `arguments` besides.
    static func onEtcd(_ cluster: EtcdCluster, prefix: String, _ arguments: [String] = []) throws -> ControllerProcess {
        try ControllerProcess(arguments: ["--store", "etcd", "--etcd-endpoints", cluster.endpointList, "--etcd-prefix", prefix] + arguments)
    }
}

/// Builders of the objects the tests send.
enum Objects {
    static func policy(
        _ name: String, numVfs: Int32 = 8, pfNames: [String] = ["ens1f0"], priority: Int32? = nil,
        resource: String = "intelnics", deviceType: String = "netdevice", selector: [String: String] = ["sriov": "true"]
    ) -> SriovV1.SriovNetworkNodePolicy {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata.name = name
        p.spec.resourceName = resource
        p.spec.nodeSelector = selector
        p.spec.numVfs = numVfs
        p.spec.nicSelector.vendor = "8086"
        p.spec.nicSelector.pfNames = pfNames
        p.spec.deviceType = deviceType
        p.spec.priority = priority
        return p
    }

    static func network(_ name: String, resource: String = "intelnics", vlan: Int32 = 0) -> SriovV1.SriovNetwork {
        var n = SriovV1.SriovNetwork()
        n.metadata.name = name
        n.spec.resourceName = resource
        n.spec.vlan = vlan
        n.spec.ipam = #"{"type":"host-local","subnet":"10.56.217.0/24"}"#
        return n
    }

    /// An XL710 PF as an agent reports it.
    static func pf(_ name: String, pci: String, totalvfs: Int32 = 64) -> SriovV1.InterfaceExt {
        var i = SriovV1.InterfaceExt()
        i.name = name
        i.pciAddress = pci
        i.vendor = "8086"
        i.deviceID = "1583"
        i.driver = "i40e"
        i.totalvfs = totalvfs
        i.mtu = 1500
        i.linkType = "ETH"
        return i
    }

    static func inventory(_ node: String, labels: [String: String] = ["sriov": "true"], pfs: [SriovV1.InterfaceExt]? = nil, sequence: Int64 = 1) -> SriovV1.InventoryReport {
        var r = SriovV1.InventoryReport()
        r.nodeName = node
        r.labels = labels
        r.interfaces = pfs ?? [pf("ens1f0", pci: "0000:86:00.0"), pf("ens1f1", pci: "0000:86:00.1")]
        r.sequence = sequence
        return r
    }
}

extension GRPCChannel {
    /// Sends inventory snapshots over one StreamInventory call.
    @discardableResult
    func sendInventory(_ reports: [SriovV1.InventoryReport]) async throws -> SriovV1.InventoryAck {
        try await clientStreaming(SriovV1.Agent.streamInventory, timeout: .seconds(10)) { w in
            for r in reports { try await w.write(r) }
        }
    }
}

/// The status code of a call that is expected to fail.
func code(_ body: () async throws -> Void) async -> StatusCode {
    do {
        try await body()
        return .ok
    } catch let e as RPCError {
        return e.code
    } catch {
        return .unknown
    }
}

/// The error of a call that is expected to fail.
func rpcError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch let e as RPCError {
        return e
    } catch {
        return RPCError(code: .unknown, message: "\(error)")
    }
}
