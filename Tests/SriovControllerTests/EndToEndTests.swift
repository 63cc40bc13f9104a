import Foundation
import SriovGRPC
import SriovProto
import SriovSync
import SriovTestSupport
import Testing

/// Records every WatchNodeStates event of one node in the background, so a
/// test can wait for a state and then look at the history that led to it.
final class NodeStateRecorder: Sendable {
    /// What the watching task fills in.
    final class Received: Sendable {
        let events = Locked<[SriovV1.NodeStateEvent]>([])
        /// Why the watch ended, unless the recorder was cancelled.
        let failure = Locked<String?>(nil)
    }

    let node: String
    private let received: Received
    private let task: Task<Void, Never>

    /// Opens the watch and returns once it is live (its first BOOKMARK).
    init(_ channel: GRPCChannel, node: String) async throws {
        self.node = node
        var request = SriovV1.WatchRequest()
        request.name = node
        let received = Received()
        self.received = received
        task = Task {
            do {
                try await channel.serverStreaming(Op.watchNodeStates, request, timeout: .seconds(600)) { stream in
                    for try await event in stream { received.events.withLock { $0.append(event) } }
                }
            } catch {
                if !Task.isCancelled { received.failure.withLock { $0 = "\(error)" } }
            }
        }
        let live = try await eventually(EndToEndTests.patience) {
            received.events.withLock { $0.contains { $0.type == .bookmark } } || received.failure.withLock { $0 != nil }
        }
        if let failure = received.failure.withLock({ $0 }) ?? (live ? nil : "no BOOKMARK") {
            task.cancel()
            throw RPCError(code: .unavailable, message: "WatchNodeStates \(node) did not start: \(failure)")
        }
    }

    /// The node states seen, oldest first (bookmarks left out).
    var states: [SriovV1.SriovNetworkNodeState] {
        received.events.withLock { $0.filter { $0.type == .added || $0.type == .modified }.map(\.nodeState) }
    }

    /// The first state (seen or still to come) that satisfies `condition`;
    /// fails naming `what` and the last state seen.
    func wait(for what: String, _ condition: (SriovV1.SriovNetworkNodeState) -> Bool) async throws -> SriovV1.SriovNetworkNodeState {
        var found: SriovV1.SriovNetworkNodeState?
        _ = try await eventually(EndToEndTests.patience) {
            found = states.first(where: condition)
            return found != nil || received.failure.withLock { $0 != nil }
        }
        guard let found else {
            let last = states.last.map { "generation \($0.metadata.generation), status \($0.status.syncStatus) of generation \($0.status.observedGeneration), error \"\($0.status.lastSyncError)\"" } ?? "none"
            throw RPCError(code: .deadlineExceeded, message: "node \(node): no state with \(what); last state: \(last); watch error: \(received.failure.withLock { $0 } ?? "none")")
        }
        return found
    }

    /// The (status, observed generation) of every state seen, for messages.
    var history: String {
        states.map { "\($0.status.syncStatus.isEmpty ? "-" : $0.status.syncStatus)@\($0.status.observedGeneration)/\($0.metadata.generation)" }.joined(separator: " ")
    }

    func cancel() { task.cancel() }

    deinit { task.cancel() }
}

/// The real `sriov-controller` and `sriov-agent` binaries on loopback with
/// mutual TLS, the agent driving a simulated node made by
/// `sriov-agent simulate`: a policy applied through the Operator service
/// reaches the node's sysfs and comes back as the node state's status.
@Suite(.timeLimit(.minutes(5)), .serialized)
struct EndToEndTests {
    /// How long a state may take to appear. Generous: these tests run beside
    /// other builds on a small machine; a passing run returns as soon as the
    /// state is there.
    static let patience: Duration = .seconds(90)
    static let pf0 = "0000:18:00.0"
    static let numVfsPath = "sys/bus/pci/devices/\(pf0)/sriov_numvfs"

    /// A controller, a simulated XL710 node `worker-0` with its agent, an
    /// operator channel and a recorder of the node's states.
    struct Cluster {
        let controller: ControllerProcess
        let node: SimulatedNode
        let agent: AgentProcess
        let op: GRPCChannel
        let states: NodeStateRecorder

        init(agentArguments: [String] = []) async throws {
            controller = try ControllerProcess()
            try await controller.start()
            node = try SimulatedNode(nics: "xl710:1")
            op = try controller.channel("operator-admin")
            states = try await NodeStateRecorder(op, node: "worker-0")
            agent = try AgentProcess(node: node, name: "worker-0", controllerPort: controller.port, certs: controller.certs, arguments: agentArguments)
            // The agent's first inventory creates the node state.
            _ = try await states.wait(for: "the agent's inventory") { $0.status.interfaces.contains { $0.pciAddress == EndToEndTests.pf0 } }
        }

        func applyPolicy(numVfs: Int32) async throws -> SriovV1.ApplyPolicyResponse {
            var apply = SriovV1.ApplyPolicyRequest()
            apply.policy = Objects.policy("p1", numVfs: numVfs)
            return try await op.unary(Op.applyPolicy, apply)
        }

        /// Waits for `Succeeded` of the node's current generation with
        /// `numVfs` VFs on the PF in its spec.
        func synced(numVfs: Int32, after generation: Int64 = 0) async throws -> SriovV1.SriovNetworkNodeState {
            try await states.wait(for: "Succeeded for a generation above \(generation) with \(numVfs) VFs") {
                $0.metadata.generation > generation && $0.status.syncStatus == "Succeeded"
                    && $0.status.observedGeneration == $0.metadata.generation && $0.spec.interfaces.first?.numVfs == numVfs
            }
        }

        func stop() {
            states.cancel()
            agent.stop()
            op.close()
            controller.stop()
        }
    }

    @Test func aPolicyReachesTheNodeAndItsRemovalResetsThePF() async throws {
        let cluster = try await Cluster()
        defer { cluster.stop() }
        let applied = try await cluster.applyPolicy(numVfs: 8)
        #expect(applied.affectedNodes == ["worker-0"])

        let synced = try await cluster.synced(numVfs: 8)
        let generation = synced.metadata.generation
        // The agent reported InProgress for the generation before Succeeded.
        let statuses = cluster.states.states.filter { $0.status.observedGeneration == generation }.map(\.status.syncStatus)
        #expect(statuses.first == "InProgress" && statuses.last == "Succeeded", "\(cluster.states.history)")
        #expect(synced.status.lastSyncError == "")
        // The VFs are in sysfs, and the status shows them as discovered.
        #expect(cluster.node.read(Self.numVfsPath) == "8")
        #expect(cluster.node.virtualFunctions(Self.pf0).count == 8)
        let pf = try #require(synced.status.interfaces.first { $0.pciAddress == Self.pf0 })
        #expect(pf.numVfs == 8 && pf.vfs.count == 8 && pf.vfs.allSatisfy { $0.driver == "iavf" })

        // Removing the policy empties the spec: the PF goes back to 0 VFs.
        var delete = SriovV1.DeleteRequest()
        delete.name = "p1"
        #expect(try await cluster.op.unary(Op.deletePolicy, delete).affectedNodes == ["worker-0"])
        let reset = try await cluster.states.wait(for: "Succeeded for the empty spec after generation \(generation)") {
            $0.metadata.generation > generation && $0.spec.interfaces.isEmpty
                && $0.status.syncStatus == "Succeeded" && $0.status.observedGeneration == $0.metadata.generation
        }
        #expect(cluster.node.read(Self.numVfsPath) == "0")
        #expect(cluster.node.virtualFunctions(Self.pf0).isEmpty)
        #expect(reset.status.interfaces.first { $0.pciAddress == Self.pf0 }?.numVfs == 0)
        #expect(!cluster.controller.log.contains("internal error"))
    }

    @Test func anInjectedFaultIsReportedFailedWithItsMessageAndRetriedAtTheNextRescan() async throws {
        let cluster = try await Cluster(agentArguments: ["--rescan-interval", "1s"])
        defer { cluster.stop() }
        _ = try await cluster.applyPolicy(numVfs: 8)
        let first = try await cluster.synced(numVfs: 8)

        // Going from 8 to 4 VFs writes 0 first; the kernel refuses it once.
        try cluster.node.simulate(["--fail-write", "\(Self.pf0)/sriov_numvfs=EBUSY:1"])
        _ = try await cluster.applyPolicy(numVfs: 4)
        let failed = try await cluster.states.wait(for: "Failed after generation \(first.metadata.generation)") {
            $0.metadata.generation > first.metadata.generation && $0.status.syncStatus == "Failed"
                && $0.status.observedGeneration == $0.metadata.generation
        }
        #expect(failed.status.lastSyncError == "0000:18:00.0: writing 0 to sriov_numvfs: Device or resource busy; the PF was reset to 0 VFs and MTU 1500")
        #expect(failed.spec.interfaces.first?.numVfs == 4)

        // The fault was for one write only: the next rescan finds the PF
        // unlike its spec, applies the same generation again and succeeds.
        let retried = try await cluster.synced(numVfs: 4, after: first.metadata.generation)
        #expect(retried.metadata.generation == failed.metadata.generation)
        #expect(retried.status.lastSyncError == "")
        #expect(cluster.node.read(Self.numVfsPath) == "4")
        #expect(cluster.agent.count("host drifted from the applied config; repairing") >= 1)
    }

    @Test func aRestartedControllerGetsTheAgentBackWithoutAnythingReapplied() async throws {
        let cluster = try await Cluster()
        defer { cluster.stop() }
        _ = try await cluster.applyPolicy(numVfs: 8)
        _ = try await cluster.synced(numVfs: 8)
        var get = SriovV1.GetRequest()
        get.name = "worker-0"
        let before = try await cluster.op.unary(Op.getNodeState, get)
        let applies = cluster.agent.count("applying config")
        let streams = cluster.agent.count("watching config")
        let sysfs = cluster.node.snapshot()
        cluster.states.cancel()
        cluster.op.close()

        let port = cluster.controller.port
        #expect(cluster.controller.stop(signal: SIGTERM) == 0)
        try await cluster.controller.start(port: port)
        #expect(cluster.controller.port == port)
        let op = try cluster.controller.channel("operator-admin")
        defer { op.close() }
        let after = try await NodeStateRecorder(op, node: "worker-0")
        defer { after.cancel() }

        // The agent reconnects, is sent the generation it applied, and leaves
        // the host alone: no apply, no sysfs write, no status report.
        #expect(try await eventually(Self.patience) { cluster.agent.count("watching config") > streams })
        #expect(try await eventually(Self.patience) { cluster.agent.count("config unchanged") >= 1 }, "\(cluster.agent.log)")
        #expect(cluster.agent.isRunning)
        #expect(cluster.agent.count("applying config") == applies)
        #expect(cluster.node.snapshot() == sysfs)
        #expect(try await op.unary(Op.getNodeState, get) == before)
        #expect(!after.states.contains { $0.status.syncStatus == "InProgress" }, "\(after.history)")

        // And it still follows the controller: a new generation is applied.
        var apply = SriovV1.ApplyPolicyRequest()
        apply.policy = Objects.policy("p1", numVfs: 2)
        _ = try await op.unary(Op.applyPolicy, apply)
        _ = try await after.wait(for: "Succeeded with 2 VFs") {
            $0.status.syncStatus == "Succeeded" && $0.status.observedGeneration == $0.metadata.generation && $0.spec.interfaces.first?.numVfs == 2
        }
        #expect(cluster.node.read(Self.numVfsPath) == "2")
    }

    /// A node name and the certificate the agent is started with, and the
    /// line it must print (CERT stands for the certificate's path).
    struct IdentityCase: Sendable, CustomTestStringConvertible {
        var nodeName: String
        var identity: String
        var message: String
        var testDescription: String { "--node-name \(nodeName) with \(identity).crt" }
    }

    static let identityCases = [
        IdentityCase(nodeName: "worker-1", identity: "node-worker-0",
                     message: "--node-name worker-1 does not match the certificate CERT, which is for node worker-0 (spiffe://sriov.local/node/worker-0)"),
        IdentityCase(nodeName: "admin", identity: "operator-admin",
                     message: "CERT names spiffe://sriov.local/operator/admin, not a node identity spiffe://TRUST-DOMAIN/node/NAME"),
    ]

    @Test(arguments: identityCases)
    func aCertificateForAnotherNameIsAOneLineStartupError(_ c: IdentityCase) throws {
        let (nodeName, identity, message) = (c.nodeName, c.identity, c.message)
        let certs = try TestCertificates.shared.get()
        let node = try SimulatedNode(nics: "xl710:1")
        let cert = certs.path("\(identity).crt")
        let r = try TestProcess.run(SimulatedNode.agentBinary, [
            "--controller", "127.0.0.1:1", "--node-name", nodeName, "--tls-cert", cert, "--tls-key", certs.path("\(identity).key"),
            "--tls-ca", certs.path("ca.crt"), "--sysfs-root", node.sysfsRoot, "--state-dir", node.stateDir,
        ], timeout: 30)
        #expect(r.status == 2)
        #expect(r.stdout == "")
        #expect(r.stderr == "sriov-agent: " + message.replacingOccurrences(of: "CERT", with: cert) + "\n")
        // Nothing was touched.
        #expect(node.read(Self.numVfsPath) == "0")
        #expect(!FileManager.default.fileExists(atPath: node.stateDir + "/checkpoint.json"))
    }
}
