@testable import SriovControllerCore
import Logging
import SriovProto
import SriovStore
import SriovTestSupport
import Testing

/// How a mutation too large for one etcd transaction is cut into parts.
@Suite struct SplitCommitTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var primaryWrites: Int
        var compares: Int
        var nodes: Int
        var deletedNodes: Int = 0
        var rendered: Int
        var limit: Int
        var following: Bool
        var fenced = false
        var parts: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a policy touching 500 nodes, one replica, etcd's 128", primaryWrites: 1, compares: 1, nodes: 500, rendered: 500,
             limit: 128, following: false, parts: 8),
        Case(name: "the same with replicas: a compare per node", primaryWrites: 1, compares: 1, nodes: 500, rendered: 500,
             limit: 128, following: true, parts: 8),
        Case(name: "compares bind before writes", primaryWrites: 1, compares: 100, nodes: 60, rendered: 0,
             limit: 128, following: true, parts: 2),
        Case(name: "deletes of node states count like writes", primaryWrites: 1, compares: 1, nodes: 3, deletedNodes: 3, rendered: 3,
             limit: 4, following: true, parts: 3),
        Case(name: "the smallest limit", primaryWrites: 1, compares: 1, nodes: 3, rendered: 2, limit: 2, following: true, parts: 3),
        Case(name: "leader work: the term's compare in every part", primaryWrites: 0, compares: 0, nodes: 300, rendered: 300,
             limit: 128, following: true, fenced: true, parts: 5),
    ]

    static func mutation(_ c: Case) -> ControllerState.Mutation {
        var m = ControllerState.Mutation(now: GoogleProtobuf.Timestamp())
        m.writes = (0..<c.primaryWrites).map { .put(key: "/policies/p\($0)", value: [1]) }
        m.compares = (0..<c.compares).map { Compare(key: "/policies/p\($0)", modRevision: 7) }
        m.affectedNodes = ["n0"]
        for i in 0..<c.nodes {
            var n = SriovV1.SriovNetworkNodeState()
            n.metadata.name = "n\(i)"
            m.nodes["n\(i)"] = .some(n)
            var config = SriovV1.NodeConfig()
            config.nodeName = "n\(i)"
            m.pushes.append(config)
        }
        for i in 0..<c.deletedNodes { m.nodes.updateValue(nil, forKey: "gone\(i)") }
        for i in 0..<c.rendered { m.rendered["/rendered/r\(i)"] = .some(SriovV1.RenderedObject()) }
        if c.fenced { m.fence = Compare(key: "/election/leader", modRevision: 42) }
        return m
    }

    @Test(arguments: cases)
    func partsStayWithinTheLimitAndHoldEverythingOnce(_ c: Case) {
        let m = Self.mutation(c)
        let parts = ControllerState.split(m, limit: c.limit, perNodeCompare: c.following ? 1 : 0)
        #expect(parts.count == c.parts)
        for (i, p) in parts.enumerated() {
            #expect(p.writes.count + p.nodes.count + p.rendered.count <= c.limit, "part \(i)")
            #expect(p.compares.count + (p.fence == nil ? 0 : 1) + (c.following ? p.nodes.count : 0) <= c.limit, "part \(i)")
            #expect((p.fence != nil) == c.fenced, "part \(i) carries the fence")
            #expect(!p.nodes.isEmpty || !p.rendered.isEmpty || i == 0, "part \(i) is empty")
            // A push goes with its node's write.
            for push in p.pushes { #expect(p.nodes.keys.contains(push.nodeName)) }
        }
        // The caller's compares and writes are all in the first part.
        #expect(parts[0].compares.map(\.key) == m.compares.map(\.key) && parts[0].writes.count == m.writes.count)
        #expect(parts[0].affectedNodes == m.affectedNodes)
        #expect(parts.dropFirst().allSatisfy { $0.compares.isEmpty && $0.writes.isEmpty })
        // Every node and rendered object exactly once, deletes kept as deletes.
        let nodeKeys = parts.flatMap(\.nodes.keys)
        #expect(nodeKeys.count == m.nodes.count && Set(nodeKeys) == Set(m.nodes.keys))
        let deletes = parts.flatMap { $0.nodes.filter { $0.value == nil }.map(\.key) }
        #expect(Set(deletes) == Set((0..<c.deletedNodes).map { "gone\($0)" }))
        let renderedKeys = parts.flatMap(\.rendered.keys)
        #expect(renderedKeys.count == m.rendered.count && Set(renderedKeys) == Set(m.rendered.keys))
        #expect(parts.map(\.pushes.count).reduce(0, +) == m.pushes.count)
    }
}

/// The render's derived objects written again where the stored ones differ,
/// at every start (and by the leader's periodic repair, the same code).
@Suite(.timeLimit(.minutes(1))) struct RenderRepairTests {
    static func seeded() async throws -> (SQLiteStore, ControllerState, String) {
        let dir = try RepoPaths.temporaryDirectory("sriov-render-repair").path
        let store = try SQLiteStore(directory: dir)
        let state = try await ControllerState(store: store, fanout: ConfigFanout(), metrics: ControllerMetrics(), logger: Logger(label: "test"))
        for node in ["worker-0", "worker-1"] {
            let r = Objects.inventory(node)
            _ = try await state.reportInventory(node: node, labels: r.labels, interfaces: r.interfaces)
        }
        _ = try await state.applyPolicy(Objects.policy("p", numVfs: 4), expectedResourceVersion: "")
        return (store, state, dir)
    }

    @Test func aStartWritesTheDerivedObjectsAReplicaLeftBehind() async throws {
        let (store, _, _) = try await Self.seeded()
        // As if a replica died between the parts of a split commit: worker-1's
        // device-plugin config and new spec never reached the store.
        let key = ObjectKeys.renderedDevicePlugin(node: "worker-1")
        let before = try #require(try await store.get(key))
        var stale = try StoredObject.nodeState(try #require(try await store.get(ObjectKeys.nodeState("worker-1"))))
        let generation = stale.metadata.generation
        stale.spec = SriovV1.SriovNetworkNodeStateSpec()
        stale.metadata.generation -= 1
        try await store.commit(Transaction(writes: [.delete(key: key), .put(key: ObjectKeys.nodeState("worker-1"), value: StoredObject.bytes(stale))]))

        let restarted = try await ControllerState(store: store, fanout: ConfigFanout(), metrics: ControllerMetrics(), logger: Logger(label: "test"))
        let repaired = try #require(try await store.get(key))
        #expect(repaired.value == before.value)
        let node = try StoredObject.nodeState(try #require(try await store.get(ObjectKeys.nodeState("worker-1"))))
        #expect(node.spec.interfaces.first?.numVfs == 4 && node.metadata.generation == generation)
        // Nothing differs now: the repair writes nothing.
        let again = await restarted.repairDerived(fence: nil as Compare?)
        #expect(again == 0)
        store.close()
    }
}
