import Glibc
import Logging
import SriovAgentCore
import SriovGRPC
import SriovHost
import SriovProto
import SriovSimKernel
import SriovTestSupport
import Testing

/// The agent loop against an in-process Agent service over loopback mTLS,
/// on a simulated kernel.
@Suite("AgentLoop", .serialized)
struct AgentLoopTests {
    static let pf0 = "0000:18:00.0"
    /// How long a condition may take to hold. Generous: the suite runs on a
    /// loaded 2-core machine beside other builds; a passing run returns as
    /// soon as the condition holds, so only a failing one waits this long.
    static let patience: Duration = .seconds(60)

    /// A simulated node, an agent on it and a running agent task.
    final class Rig: Sendable {
        let kernel: SimulatedKernel
        let applier: HostApplier
        let agent: SriovAgent
        let channel: GRPCChannel
        let task: Task<Void, Never>

        init(port: Int, certs: CertificateDirectory, nics: String = "xl710:1", root: String? = nil, rescan: Duration = .milliseconds(200)) throws {
            let dir = try root ?? RepoPaths.temporaryDirectory("sriov-agent").path
            kernel = SimulatedKernel.isSimulated(root: dir + "/sysfs")
                ? try SimulatedKernel(root: dir + "/sysfs")
                : try SimulatedKernel.create(root: dir + "/sysfs", inventory: NICInventory(parsing: nics))
            var hostConfig = HostApplier.Configuration()
            hostConfig.pollInterval = .milliseconds(5)
            applier = HostApplier(sysfs: kernel, store: CheckpointStore(directory: dir + "/state"), configuration: hostConfig)
            var client = ClientConfiguration(target: .host("127.0.0.1", port: port), security: .tls(certs.clientTLS(identity: "node-n1")))
            client.keepalive = AgentConfiguration.keepalive
            client.backoff.initial = .milliseconds(100)
            client.backoff.maximum = .milliseconds(500)
            channel = try GRPCChannel(configuration: client)
            var config = AgentConfiguration(nodeName: "n1")
            config.labels = ["kubernetes.io/hostname": "n1", "feature.node.kubernetes.io/network-sriov.capable": "true"]
            config.rescanInterval = rescan
            config.retryDelay = .milliseconds(100)
            config.maxRetryDelay = .milliseconds(500)
            let agent = SriovAgent(configuration: config, channel: channel, applier: applier)
            self.agent = agent
            task = Task { await agent.run() }
        }

        func stop() async {
            task.cancel()
            await task.value
            channel.close()
        }
    }

    static func xl710Spec(numVfs: Int32 = 4) -> SriovV1.SriovNetworkNodeStateSpec {
        var i = SriovV1.Interface()
        i.pciAddress = pf0
        i.numVfs = numVfs
        i.mtu = 9000
        var a = SriovV1.VfGroup()
        a.vfRange = "0-1"
        a.deviceType = "vfio-pci"
        a.policyName = "dpdk"
        var b = SriovV1.VfGroup()
        b.vfRange = "2-\(numVfs - 1)"
        b.deviceType = "netdevice"
        b.mtu = 9000
        b.policyName = "kernel"
        i.vfGroups = [a, b]
        var s = SriovV1.SriovNetworkNodeStateSpec()
        s.interfaces = [i]
        return s
    }

    @Test("a new generation is reported InProgress, applied, then Succeeded with the interfaces; inventory is streamed")
    func appliesAndReports() async throws {
        let service = FakeAgentService()
        service.push(generation: 1, Self.xl710Spec())
        let harness = try LoopbackHarness(routes: service.routes)
        let rig = try Rig(port: harness.port, certs: harness.certs)
        #expect(try await eventually(Self.patience) { service.lastReport(1)?.syncStatus == SyncStatus.succeeded })
        // Delivered in order, neither coalesced away: InProgress, then Succeeded.
        let reports = service.reports.filter { $0.generation == 1 }
        #expect(reports.map(\.syncStatus) == [SyncStatus.inProgress, SyncStatus.succeeded])
        #expect(reports.first?.interfaces.isEmpty == true)
        let pf = try #require(service.lastReport(1)?.interfaces.first { $0.pciAddress == Self.pf0 })
        #expect(pf.numVfs == 4 && pf.mtu == 9000)
        #expect(pf.vfs.map(\.driver) == ["vfio-pci", "vfio-pci", "iavf", "iavf"])
        #expect(try rig.kernel.read("sys/bus/pci/devices/\(Self.pf0)/sriov_numvfs") == "4")
        #expect(try await eventually(Self.patience) { service.inventories.contains { $0.interfaces.first?.numVfs == 4 } })
        let inventory = try #require(service.inventories.first)
        #expect(inventory.nodeName == "n1" && inventory.sequence == 1)
        #expect(inventory.labels["kubernetes.io/hostname"] == "n1")
        await rig.stop()
        await harness.stop()
    }

    @Test("a failure is reported Failed with the message; the next generation recovers")
    func failureReported() async throws {
        let service = FakeAgentService()
        service.push(generation: 1, Self.xl710Spec())
        let harness = try LoopbackHarness(routes: service.routes)
        let rig = try Rig(port: harness.port, certs: harness.certs, rescan: .seconds(60))
        #expect(try await eventually(Self.patience) { service.lastReport(1)?.syncStatus == SyncStatus.succeeded })
        try rig.kernel.inject(.failWrite(pathSuffix: "\(Self.pf0)/sriov_numvfs", errno: EBUSY, times: nil))
        service.push(generation: 2, Self.xl710Spec(numVfs: 8))
        #expect(try await eventually(Self.patience) { service.lastReport(2)?.syncStatus == SyncStatus.failed })
        let failed = try #require(service.lastReport(2))
        #expect(failed.lastSyncError.hasPrefix("0000:18:00.0: writing 0 to sriov_numvfs: Device or resource busy"), "\(failed.lastSyncError)")
        try rig.kernel.clearFaults()
        service.push(generation: 3, Self.xl710Spec(numVfs: 8))
        #expect(try await eventually(Self.patience) { service.lastReport(3)?.syncStatus == SyncStatus.succeeded })
        #expect(service.lastReport(3)?.lastSyncError == "")
        // Every generation ends in a final status.
        for g in Int64(1)...3 { #expect(service.lastReport(g)?.syncStatus != SyncStatus.inProgress) }
        await rig.stop()
        await harness.stop()
    }

    @Test("drift behind the agent's back is repaired at the next rescan and reported")
    func driftRepaired() async throws {
        let service = FakeAgentService()
        service.push(generation: 1, Self.xl710Spec())
        let harness = try LoopbackHarness(routes: service.routes)
        let rig = try Rig(port: harness.port, certs: harness.certs)
        #expect(try await eventually(Self.patience) { service.lastReport(1)?.syncStatus == SyncStatus.succeeded })
        let reportsBefore = service.reports.count
        // An admin rebinds VF 0 to the netdevice driver, in three writes; a
        // rescan may fall between them and repair a half-done drift first,
        // so the test waits for the end state rather than for one repair.
        let other = try SimulatedKernel(root: rig.kernel.root)
        try other.write("sys/bus/pci/drivers/vfio-pci/unbind", "0000:19:00.0")
        try other.write("sys/bus/pci/devices/0000:19:00.0/driver_override", "\n")
        try other.write("sys/bus/pci/drivers_probe", "0000:19:00.0")
        let vf0Driver = "sys/bus/pci/devices/0000:19:00.0/driver"
        // A repair is reported as a sync of the generation in effect:
        // InProgress first, Succeeded last (showing VF 0 back on vfio-pci).
        #expect(try await eventually(Self.patience) {
            let repairs = service.reports.dropFirst(reportsBefore)
            return rig.agent.counters.driftRepairs >= 1
                && repairs.first?.syncStatus == SyncStatus.inProgress && repairs.last?.syncStatus == SyncStatus.succeeded
                && repairs.last?.interfaces.first?.vfs.first?.driver == "vfio-pci"
                && (try? rig.kernel.readLink(vf0Driver).hasSuffix("vfio-pci")) == true
        }, "\(service.reports.dropFirst(reportsBefore).map(\.syncStatus))")
        let repairs = service.reports.dropFirst(reportsBefore)
        #expect(repairs.allSatisfy { $0.generation == 1 && $0.syncStatus != SyncStatus.failed }, "\(repairs.map(\.syncStatus))")
        await rig.stop()
        await harness.stop()
    }

    @Test("with the controller restarted the agent reconnects, resends its inventory and re-applies nothing")
    func reconnectWithoutReapply() async throws {
        let service = FakeAgentService()
        service.push(generation: 1, Self.xl710Spec())
        let first = try LoopbackHarness(routes: service.routes)
        let port = first.port
        let rig = try Rig(port: port, certs: first.certs, rescan: .seconds(60))
        #expect(try await eventually(Self.patience) { service.lastReport(1)?.syncStatus == SyncStatus.succeeded })
        let applies = rig.agent.counters.applies
        let writes = rig.kernel.writeCount
        await first.stop()

        let restarted = FakeAgentService()
        restarted.push(generation: 1, Self.xl710Spec())
        let second = try LoopbackHarness(routes: restarted.routes, port: port)
        #expect(try await eventually(Self.patience) { rig.agent.counters.configStreams >= 2 })
        #expect(try await eventually(Self.patience) { !restarted.inventories.isEmpty })
        // The resent generation 1 has been looked at (and found in effect).
        #expect(try await eventually(Self.patience) { rig.agent.counters.configsUnchanged >= 1 })
        #expect(rig.agent.counters.applies == applies)
        #expect(rig.kernel.writeCount == writes)
        #expect(!restarted.reports.contains { $0.syncStatus == SyncStatus.inProgress })
        await rig.stop()
        await second.stop()
    }

    @Test("after a reboot the checkpointed config is re-applied before any controller answers")
    func rebootWithoutController() async throws {
        let certs = try CertificateDirectory.shared()
        let dir = try RepoPaths.temporaryDirectory("sriov-agent").path
        let kernel = try SimulatedKernel.create(root: dir + "/sysfs", inventory: NICInventory(parsing: "xl710:1"))
        let applier = HostApplier(sysfs: kernel, store: CheckpointStore(directory: dir + "/state"))
        #expect(await applier.apply(Self.xl710Spec(), generation: 4).succeeded)
        kernel.reboot()
        #expect(try kernel.read("sys/bus/pci/devices/\(Self.pf0)/sriov_numvfs") == "0")
        // Port 1 on loopback: nothing listens, the channel keeps backing off.
        let rig = try Rig(port: 1, certs: certs, root: dir, rescan: .seconds(60))
        #expect(try await eventually(Self.patience) { (try? rig.kernel.read("sys/bus/pci/devices/\(Self.pf0)/sriov_numvfs")) == "4" })
        #expect(try await eventually(Self.patience) { rig.agent.counters.applies == 1 })
        #expect(rig.agent.counters.reportsSent == 0)
        await rig.stop()
    }
}

@Suite("NodeIdentity")
struct NodeIdentityTests {
    @Test("the node name must be the one in the certificate")
    func verify() throws {
        let certs = try CertificateDirectory.shared()
        let identity = try NodeIdentity.verify(nodeName: "n1", certificatePath: certs.path("node-n1.crt"))
        #expect(identity.description == "spiffe://sriov.local/node/n1")
        do {
            _ = try NodeIdentity.verify(nodeName: "n2", certificatePath: certs.path("node-n1.crt"))
            Issue.record("n2 accepted")
        } catch {
            #expect(error.message == "--node-name n2 does not match the certificate \(certs.path("node-n1.crt")), which is for node n1 (spiffe://sriov.local/node/n1)")
        }
        do {
            _ = try NodeIdentity.verify(nodeName: "op", certificatePath: certs.path("operator-op.crt"))
            Issue.record("an operator certificate accepted")
        } catch {
            #expect(error.message.contains("names spiffe://sriov.local/operator/op, not a node identity"))
        }
    }

    @Test("URIs that are not node identities", arguments: ["spiffe://td/node/", "spiffe:///node/a", "https://td/node/a", "spiffe://td/viewer/a", "spiffe://td/node/a/b"])
    func rejects(_ uri: String) {
        #expect(NodeIdentity(uri: uri) == nil)
    }

    @Test("sriov-agent refuses to start with a node name that is not the certificate's: one line")
    func executableMismatch() throws {
        let certs = try CertificateDirectory.shared()
        let binary = RepoPaths.binary("sriov-agent")
        try #require(access(binary, X_OK) == 0, "build sriov-agent first")
        let r = try TestProcess.run(binary, ["--controller", "127.0.0.1:1", "--node-name", "n2", "--tls-cert", certs.path("node-n1.crt"),
                                             "--tls-key", certs.path("node-n1.key"), "--tls-ca", certs.path("ca.crt")], timeout: 20)
        #expect(r.status == 2)
        #expect(r.stderr == "sriov-agent: --node-name n2 does not match the certificate \(certs.path("node-n1.crt")), which is for node n1 (spiffe://sriov.local/node/n1)\n")
    }
}
