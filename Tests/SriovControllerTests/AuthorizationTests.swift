import Foundation
import SriovGRPC
import SriovProto
import Testing

/// Every identity × every RPC against the real controller: the calls an
/// identity may make are never PERMISSION_DENIED, every other one is, with
/// a message naming the identity and the RPC.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct AuthorizationTests {
    enum Who: String, CaseIterable, Sendable {
        case `operator` = "operator-admin"
        case viewer = "viewer-view"
        case node = "node-worker-0"
    }

    /// One RPC with a minimal request, for node `worker-0` or another node.
    struct Call: Sendable, CustomTestStringConvertible {
        var path: String
        var request: [UInt8]
        var allowed: Set<Who>
        var testDescription: String { path }
    }

    static func calls() -> [Call] {
        var get = SriovV1.GetRequest()
        get.name = "x"
        var delete = SriovV1.DeleteRequest()
        delete.name = "x"
        var applyPolicy = SriovV1.ApplyPolicyRequest()
        applyPolicy.policy = Objects.policy("authz")
        var applyNetwork = SriovV1.ApplyNetworkRequest()
        applyNetwork.network = Objects.network("authz")
        var dry = SriovV1.DryRunPolicyRequest()
        dry.policy = Objects.policy("authz")
        let reads: Set<Who> = [.operator, .viewer]
        let writes: Set<Who> = [.operator]
        func call(_ m: some MethodDescribing, _ request: [UInt8], _ allowed: Set<Who>) -> Call {
            Call(path: m.path, request: request, allowed: allowed)
        }
        var watch = SriovV1.WatchConfigRequest()
        watch.nodeName = "worker-0"
        var status = SriovV1.StatusReport()
        status.nodeName = "worker-0"
        status.syncStatus = "InProgress"
        return [
            call(Op.applyPolicy, applyPolicy.serializedBytes(), writes),
            call(Op.getPolicy, get.serializedBytes(), reads),
            call(Op.listPolicies, SriovV1.ListRequest().serializedBytes(), reads),
            call(Op.deletePolicy, delete.serializedBytes(), writes),
            call(Op.applyNetwork, applyNetwork.serializedBytes(), writes),
            call(Op.getNetwork, get.serializedBytes(), reads),
            call(Op.listNetworks, SriovV1.ListRequest().serializedBytes(), reads),
            call(Op.deleteNetwork, delete.serializedBytes(), writes),
            call(Op.getNodeState, get.serializedBytes(), reads),
            call(Op.listNodeStates, SriovV1.ListRequest().serializedBytes(), reads),
            call(Op.watchNodeStates, SriovV1.WatchRequest().serializedBytes(), reads),
            call(Op.deleteNodeState, delete.serializedBytes(), writes),
            call(Op.listRendered, SriovV1.ListRequest().serializedBytes(), reads),
            call(Op.watchRendered, SriovV1.WatchRequest().serializedBytes(), reads),
            call(Op.dryRunPolicy, dry.serializedBytes(), reads),
            call(Op.getServerInfo, SriovV1.GetServerInfoRequest().serializedBytes(), reads),
            call(SriovV1.Agent.streamInventory, Objects.inventory("worker-0").serializedBytes(), [.node]),
            call(SriovV1.Agent.watchConfig, watch.serializedBytes(), [.node]),
            call(SriovV1.Agent.reportStatus, status.serializedBytes(), [.node]),
        ]
    }

    /// Sends one request and reads until the first message or the status.
    static func invoke(_ channel: GRPCChannel, _ c: Call) async -> RPCError? {
        do {
            let call = try await channel.openCall(path: c.path, timeout: .seconds(10))
            try await call.send(c.request)
            call.closeSend()
            _ = try await call.receive()
            call.cancel()
            return nil
        } catch let e as RPCError {
            return e
        } catch {
            return RPCError(code: .unknown, message: "\(error)")
        }
    }

    @Test func everyIdentityTimesEveryRPC() async throws {
        let c = try ControllerProcess()
        try await c.start()
        // Every method of both services is in the table.
        let paths = Set(Self.calls().map(\.path))
        #expect(paths == Set((SriovV1.Operator.methods + SriovV1.Agent.methods).map(\.path)))
        for who in Who.allCases {
            let channel = try c.channel(who.rawValue)
            defer { channel.close() }
            for call in Self.calls() {
                let error = await Self.invoke(channel, call)
                if call.allowed.contains(who) {
                    #expect(error?.code != .permissionDenied, "\(who) \(call.path): \(String(describing: error))")
                } else {
                    #expect(error?.code == .permissionDenied, "\(who) \(call.path): \(String(describing: error))")
                    #expect(error?.message.contains("spiffe://sriov.local/") == true && error?.message.contains(call.path) == true,
                            "\(String(describing: error?.message))")
                }
            }
        }
        // Denials are logged.
        #expect(c.log.contains("permission denied"))
    }

    @Test func aNodeCannotActForAnotherNode() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let node0 = try c.channel("node-worker-0")
        let node1 = try c.channel("node-worker-1")
        defer { node0.close(); node1.close() }
        try await node1.sendInventory([Objects.inventory("worker-1")])

        var watch = SriovV1.WatchConfigRequest()
        watch.nodeName = "worker-1"
        var status = SriovV1.StatusReport()
        status.nodeName = "worker-1"
        status.syncStatus = "Succeeded"
        let forged = [
            Call(path: SriovV1.Agent.streamInventory.path, request: Objects.inventory("worker-1").serializedBytes(), allowed: []),
            Call(path: SriovV1.Agent.watchConfig.path, request: watch.serializedBytes(), allowed: []),
            Call(path: SriovV1.Agent.reportStatus.path, request: status.serializedBytes(), allowed: []),
        ]
        for call in forged {
            let e = await Self.invoke(node0, call)
            #expect(e?.code == .permissionDenied, "\(call.path): \(String(describing: e))")
            #expect(e?.message.contains("node/worker-0") == true && e?.message.contains("\"worker-1\"") == true)
        }
        // A snapshot stream that starts honest and then names another node is
        // cut at that message; nothing of the forged one is stored.
        let mixed = await rpcError {
            try await node0.sendInventory([Objects.inventory("worker-0"), Objects.inventory("worker-1", labels: ["forged": "yes"], sequence: 2)])
        }
        #expect(mixed?.code == .permissionDenied)
        let view = try c.channel("viewer-view")
        defer { view.close() }
        var get = SriovV1.GetRequest()
        get.name = "worker-1"
        #expect(try await view.unary(Op.getNodeState, get).status.nodeLabels["forged"] == nil)
    }
}
