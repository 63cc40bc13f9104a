import SriovProto
import Testing
@testable import SriovRender

/// Conflicts the upstream webhook would reject, reported by the renderer.
struct ConflictTests {
    typealias F = Fixtures

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var policies: [SriovV1.SriovNetworkNodePolicy]
        /// Expected (code, policy, otherPolicy, pciAddress) tuples.
        var expected: [Expected]
        var testDescription: String { name }
    }

    struct Expected: Hashable, Sendable {
        var code: RenderConflict.Code
        var policy: String
        var other: String?
        var pci: String?
    }

    static let pfs = [
        F.pf("ens1", "0000:01:00.0", totalvfs: 8, altNames: ["enp1s0"]),
        F.pf("ens2", "0000:02:00.0", totalvfs: 8),
    ]

    static let cases: [Case] = [
        Case(name: "overlapping ranges on one PF",
             policies: [F.policy("a", numVfs: 8, pfNames: ["ens1#0-3"]), F.policy("b", numVfs: 8, pfNames: ["ens1#3-5"])],
             expected: [Expected(code: .vfRangeOverlap, policy: "b", other: "a", pci: "0000:01:00.0")]),
        Case(name: "overlap found through an altName",
             policies: [F.policy("a", numVfs: 8, pfNames: ["ens1#0-3"]), F.policy("b", numVfs: 8, pfNames: ["enp1s0#2-5"])],
             expected: [Expected(code: .vfRangeOverlap, policy: "b", other: "a", pci: "0000:01:00.0")]),
        Case(name: "overlap whatever the priorities",
             policies: [F.policy("a", priority: 10, numVfs: 8, pfNames: ["ens1#0-3"]), F.policy("b", priority: 90, numVfs: 8, pfNames: ["ens1#3-3"])],
             expected: [Expected(code: .vfRangeOverlap, policy: "a", other: "b", pci: "0000:01:00.0")]),
        Case(name: "disjoint ranges are fine",
             policies: [F.policy("a", numVfs: 8, pfNames: ["ens1#0-3"]), F.policy("b", numVfs: 8, pfNames: ["ens1#4-7"])],
             expected: []),
        Case(name: "a plain name next to a range is accepted",
             policies: [F.policy("a", numVfs: 8, pfNames: ["ens1"]), F.policy("b", numVfs: 8, pfNames: ["ens1#4-7"])],
             expected: []),
        Case(name: "the same plain pfName twice",
             policies: [F.policy("a", numVfs: 2, pfNames: ["ens1"]), F.policy("b", numVfs: 2, pfNames: ["ens1"])],
             expected: [Expected(code: .samePFName, policy: "b", other: "a", pci: "0000:01:00.0")]),
        Case(name: "identical rootDevices entries",
             policies: [F.policy("a", numVfs: 2, rootDevices: ["0000:02:00.0"]), F.policy("b", numVfs: 2, rootDevices: ["0000:02:00.0"])],
             expected: [Expected(code: .duplicateRootDevice, policy: "b", other: "a", pci: "0000:02:00.0")]),
        Case(name: "rootDevices against pfNames on the same PF is not detected (as upstream)",
             policies: [F.policy("a", numVfs: 2, rootDevices: ["0000:01:00.0"]), F.policy("b", numVfs: 2, pfNames: ["ens1#0-1"])],
             expected: []),
        Case(name: "externallyManaged disagreement on a PF",
             policies: [F.policy("a", numVfs: 4, pfNames: ["ens2#0-1"], externallyManaged: true),
                        F.policy("b", numVfs: 4, pfNames: ["ens2#2-3"])],
             expected: [Expected(code: .externallyManagedMismatch, policy: "b", other: "a", pci: "0000:02:00.0")]),
        Case(name: "excludeTopology disagreement for one resourceName",
             policies: [F.policy("a", resource: "r", numVfs: 4, pfNames: ["ens1#0-1"], excludeTopology: true),
                        F.policy("b", resource: "r", numVfs: 4, pfNames: ["ens2#0-1"])],
             expected: [Expected(code: .excludeTopologyMismatch, policy: "b", other: "a", pci: nil)]),
        Case(name: "numVfs above the PF's totalvfs",
             policies: [F.policy("big", numVfs: 9, pfNames: ["ens2"])],
             expected: [Expected(code: .numVfsExceedsTotalVfs, policy: "big", other: nil, pci: "0000:02:00.0")]),
        Case(name: "a malformed range",
             policies: [F.policy("bad", numVfs: 2, pfNames: ["ens1#x-1"])],
             expected: [Expected(code: .invalidPFNameRange, policy: "bad", other: nil, pci: "0000:01:00.0")]),
    ]

    @Test(arguments: cases)
    func detects(_ c: Case) {
        let state = RenderState(policies: c.policies, networks: [], nodes: [RenderNode(name: "n1", interfaces: Self.pfs)])
        let found = state.conflicts.map { Expected(code: $0.code, policy: $0.policy, other: $0.otherPolicy, pci: $0.pciAddress) }
        #expect(found == c.expected)
        for conflict in state.conflicts {
            #expect(conflict.node == "n1")
            #expect(conflict.message.contains("\"\(conflict.policy)\""))
            if let other = conflict.otherPolicy { #expect(conflict.message.contains("\"\(other)\"")) }
        }
    }

    @Test func policiesOnDisjointNodesDoNotConflict() {
        let nodes = [RenderNode(name: "n1", labels: ["pool": "a"], interfaces: Self.pfs),
                     RenderNode(name: "n2", labels: ["pool": "b"], interfaces: Self.pfs)]
        let policies = [F.policy("a", numVfs: 2, nodeSelector: ["pool": "a"], pfNames: ["ens1"]),
                        F.policy("b", numVfs: 2, nodeSelector: ["pool": "b"], pfNames: ["ens1"])]
        #expect(RenderState(policies: policies, networks: [], nodes: nodes).conflicts.isEmpty)
    }

    @Test func messageNamesFieldValueAndLimit() {
        let state = RenderState(policies: [F.policy("policy-1", numVfs: 300, pfNames: ["ens2"])], networks: [],
                                nodes: [RenderNode(name: "worker-0", interfaces: Self.pfs)])
        #expect(state.conflicts.map(\.description) == [
            "NumVfsExceedsTotalVfs: node \"worker-0\", PF 0000:02:00.0 (ens2): policy \"policy-1\": spec.numVfs 300 exceeds sriov_totalvfs 8 of 0000:02:00.0; use at most 8",
        ])
    }
}
