import Foundation
import SriovGRPC
import SriovProto
import Testing

typealias AgentRPC = SriovV1.Agent

/// The Agent service of the real controller: inventory, the config watch
/// (first message at once, pushes per generation, one live stream per
/// node), status reports.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct AgentServiceTests {
    @Test func watchConfigSendsTheCurrentConfigThenEveryNewGeneration() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let op = try c.channel("operator-admin")
        let node = try c.channel("node-worker-0")
        defer { op.close(); node.close() }

        // Unknown node: generation 0, empty spec, at once.
        var req = SriovV1.WatchConfigRequest()
        req.nodeName = "worker-0"
        try await node.serverStreaming(AgentRPC.watchConfig, req, timeout: .seconds(30)) { stream in
            var it = stream.makeAsyncIterator()
            let first = try #require(try await it.next())
            #expect(first.nodeName == "worker-0" && first.generation == 0 && first.spec.interfaces.isEmpty)

            // The first inventory creates the node state at generation 1: no
            // spec yet, but the generation is pushed so that the agent can
            // report it.
            let ack = try await node.sendInventory([Objects.inventory("worker-0"), Objects.inventory("worker-0", sequence: 2)])
            #expect(ack.received == 2 && ack.lastSequence == 2)
            let created = try #require(try await it.next())
            #expect(created.generation == 1 && created.spec.interfaces.isEmpty)

            var apply = SriovV1.ApplyPolicyRequest()
            apply.policy = Objects.policy("p1", numVfs: 4)
            _ = try await op.unary(Op.applyPolicy, apply)
            let second = try #require(try await it.next())
            #expect(second.generation == 2 && second.spec.interfaces.first?.numVfs == 4)
            #expect(second.devicePluginConfig.contains("intelnics"))

            // A change that does not touch this node's spec pushes nothing;
            // the next message is the next real change.
            var net = SriovV1.ApplyNetworkRequest()
            net.network = Objects.network("n1")
            _ = try await op.unary(Op.applyNetwork, net)
            apply.policy.spec.numVfs = 6
            _ = try await op.unary(Op.applyPolicy, apply)
            let third = try #require(try await it.next())
            #expect(third.generation == 3 && third.spec.interfaces.first?.numVfs == 6)

            // New labels that no policy selects: the spec empties.
            try await node.sendInventory([Objects.inventory("worker-0", labels: ["sriov": "false"])])
            let fourth = try #require(try await it.next())
            #expect(fourth.generation == 4 && fourth.spec.interfaces.isEmpty)
        }
        let metrics = c.log
        #expect(!metrics.contains("internal error"))
    }

    @Test func aNewStreamReplacesTheOlderOne() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let first = try c.channel("node-worker-0")
        let second = try c.channel("node-worker-0")
        defer { first.close(); second.close() }
        var req = SriovV1.WatchConfigRequest()
        req.nodeName = "worker-0"
        let ended = await rpcError {
            try await first.serverStreaming(AgentRPC.watchConfig, req, timeout: .seconds(30)) { stream in
                var it = stream.makeAsyncIterator()
                _ = try await it.next()
                // Open the replacement and read its first message.
                try await second.serverStreaming(AgentRPC.watchConfig, req, timeout: .seconds(30)) { s2 in
                    var i2 = s2.makeAsyncIterator()
                    _ = try await i2.next()
                }
                while try await it.next() != nil {}
            }
        }
        #expect(ended?.code == .aborted, "\(String(describing: ended))")
        #expect(ended?.message.contains("replaced") == true)
    }

    @Test func statusReportsAreStoredAndSeenByWatchers() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let op = try c.channel("operator-admin")
        let view = try c.channel("viewer-view")
        let node = try c.channel("node-worker-2")
        defer { op.close(); view.close(); node.close() }
        try await node.sendInventory([Objects.inventory("worker-2")])
        var apply = SriovV1.ApplyPolicyRequest()
        apply.policy = Objects.policy("p1", numVfs: 2)
        _ = try await op.unary(Op.applyPolicy, apply)
        var watch = SriovV1.WatchRequest()
        watch.name = "worker-2"
        try await view.serverStreaming(Op.watchNodeStates, watch, timeout: .seconds(30)) { stream in
            var it = stream.makeAsyncIterator()
            let added = try #require(try await it.next())
            #expect(added.type == .added)
            let generation = added.nodeState.metadata.generation
            _ = try #require(try await it.next())  // bookmark

            var report = SriovV1.StatusReport()
            report.nodeName = "worker-2"
            report.generation = generation
            report.syncStatus = "Failed"
            report.lastSyncError = "0000:86:00.0: writing 2 to sriov_numvfs: Device or resource busy"
            var pf = Objects.pf("ens1f0", pci: "0000:86:00.0")
            pf.numVfs = 0
            report.interfaces = [pf, Objects.pf("ens1f1", pci: "0000:86:00.1")]
            let ack = try await node.unary(AgentRPC.reportStatus, report)
            let event = try #require(try await it.next())
            #expect(event.type == .modified && event.resourceVersion == ack.resourceVersion)
            #expect(event.nodeState.status.syncStatus == "Failed")
            #expect(event.nodeState.status.observedGeneration == generation)
            #expect(event.nodeState.status.lastSyncError.contains("Device or resource busy"))
        }

        // Bad reports.
        var bad = SriovV1.StatusReport()
        bad.nodeName = "worker-2"
        bad.syncStatus = "Done"
        #expect(await code { _ = try await node.unary(AgentRPC.reportStatus, bad) } == .invalidArgument)
        bad.syncStatus = "Succeeded"
        bad.lastSyncError = "but it failed"
        #expect(await code { _ = try await node.unary(AgentRPC.reportStatus, bad) } == .invalidArgument)
        bad.lastSyncError = ""
        bad.generation = 1000
        let future = await rpcError { _ = try await node.unary(AgentRPC.reportStatus, bad) }
        #expect(future?.code == .failedPrecondition && future?.message.contains("generation 1000") == true)
        // Sequence numbers must increase within a stream.
        let back = await rpcError {
            try await node.sendInventory([Objects.inventory("worker-2", sequence: 5), Objects.inventory("worker-2", sequence: 5)])
        }
        #expect(back?.code == .invalidArgument)
    }
}
