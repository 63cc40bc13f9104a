import SriovAPI
import SriovProto
import SriovTestSupport
import Testing
@testable import SriovRender

/// Many policies on one PF: conflicts are found per group by one sorted
/// sweep and reported once per group, whatever the number of pairs.
struct ConflictGroupsTests {
    typealias F = Fixtures

    static func node() -> RenderNode {
        RenderNode(
            name: "n1", labels: ["sriov": "true"],
            interfaces: (0..<4).map { F.pf("ens1f\($0)", "0000:18:00.\($0)", device: "1583") })
    }

    static func policies(_ n: Int, pfNames: (Int) -> [String]) -> [SriovV1.SriovNetworkNodePolicy] {
        (0..<n).map {
            F.policy("p\($0)", resource: "r\($0)", priority: 10, numVfs: 8, nodeSelector: ["sriov": "true"], pfNames: pfNames($0))
        }
    }

    @Test("policies selecting the node but none of its PFs give no conflict")
    func noPFPolicies() {
        let state = RenderState(policies: Self.policies(300) { _ in ["nopeI"] }, networks: [], nodes: [Self.node()])
        #expect(state.conflicts.isEmpty)
        #expect(state.outputs["n1"]?.spec?.interfaces.isEmpty == true)
    }

    @Test("N policies on one VF of one PF: one conflict naming the first five and the count")
    func onePFGroup() {
        let state = RenderState(policies: Self.policies(200) { _ in ["ens1f0#0-0"] }, networks: [], nodes: [Self.node()])
        let conflicts = state.conflicts
        #expect(conflicts.count == 1)
        guard let c = conflicts.first else { return }
        #expect(c.code == .vfRangeOverlap)
        #expect(c.pciAddress == "0000:18:00.0")
        #expect(c.message.hasPrefix("200 pfNames entries of 200 policies assign overlapping VF ranges within 0-0 on the same PF: "))
        #expect(c.message.contains("and 195 more; give each policy a disjoint range"))
        #expect(c.description.utf8.count < 600)
    }

    @Test("disjoint clusters are separate groups; a pair keeps the pair's message")
    func clusters() {
        let names = [["ens1f0#0-1"], ["ens1f0#1-2"], ["ens1f0#5-5"], ["ens1f0#6-7"], ["ens1f0#7-7"], ["ens1f0#3-4"]]
        let state = RenderState(policies: Self.policies(names.count) { names[$0] }, networks: [], nodes: [Self.node()])
        let messages = state.conflicts.map(\.message)
        #expect(messages.count == 2)
        #expect(messages.contains(
            "policies \"p0\" (pfNames \"ens1f0#0-1\") and \"p1\" (pfNames \"ens1f0#1-2\") assign overlapping VF ranges 0-1 and 1-2 on the same PF; give each policy a disjoint range"))
        #expect(messages.contains(
            "policies \"p3\" (pfNames \"ens1f0#6-7\") and \"p4\" (pfNames \"ens1f0#7-7\") assign overlapping VF ranges 6-7 and 7-7 on the same PF; give each policy a disjoint range"))
    }

    /// The groups by brute force: every pair of entries compared, clusters by
    /// union-find; a cluster conflicts when it holds two policy names.
    static func bruteForceGroups(_ entries: [ConflictGroups.NamingEntry]) -> Set<[Int]> {
        var parent = Array(entries.indices)
        func find(_ i: Int) -> Int { parent[i] == i ? i : find(parent[i]) }
        for i in entries.indices {
            for j in entries.indices where j > i {
                guard let a = entries[i].bounds, let b = entries[j].bounds, a.first <= b.last, b.first <= a.last else { continue }
                parent[find(i)] = find(j)
            }
        }
        var groups: [Int: [Int]] = [:]
        for i in entries.indices where entries[i].bounds != nil { groups[find(i), default: []].append(i) }
        return Set(groups.values.filter { g in Set(g.map { entries[$0].policyName }).count > 1 }.map { $0.sorted() })
    }

    @Test("the sweep finds exactly the clusters that pairwise comparison finds", arguments: [UInt64(3), 77, 2024])
    func sweepEqualsBruteForce(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<300 {
            let entries = (0..<Int.random(in: 0...12, using: &rng)).map { i -> ConflictGroups.NamingEntry in
                let first = Int.random(in: 0...20, using: &rng)
                let bounds = Int.random(in: 0..<5, using: &rng) == 0 ? nil : (first, first + Int.random(in: 0...4, using: &rng))
                return ConflictGroups.NamingEntry(
                    policy: i, entry: 0, policyName: "p\(Int.random(in: 0...4, using: &rng))", raw: "e\(i)",
                    bounds: bounds.map { (first: $0.0, last: $0.1) })
            }
            var found: [RenderConflict] = []
            ConflictGroups.naming(entries, node: "n", pciAddress: "0000:01:00.0", pfName: "ens1", into: &found)
            let overlaps = found.filter { $0.code == .vfRangeOverlap }
            #expect(overlaps.count == Self.bruteForceGroups(entries).count)
        }
    }
}
