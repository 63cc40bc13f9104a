import SriovProto
import Testing
@testable import SriovRender

/// The dry run of a candidate policy.
struct DryRunTests {
    typealias F = Fixtures

    static func state() -> RenderState {
        RenderState(
            policies: [F.policy("base", numVfs: 4, nodeSelector: ["sriov": "true"], pfNames: ["ens1#0-3"])],
            networks: [],
            nodes: [RenderNode(name: "n1", labels: ["sriov": "true"], interfaces: [F.pf("ens1", "0000:01:00.0"), F.pf("ens2", "0000:02:00.0")]),
                    RenderNode(name: "n2", labels: ["sriov": "true"], interfaces: [F.pf("ens1", "0000:01:00.0")]),
                    RenderNode(name: "n3", labels: [:], interfaces: [F.pf("ens1", "0000:01:00.0")])])
    }

    @Test func reportsPerNodePerPFBeforeAndAfterWithoutChangingTheState() {
        let state = Self.state()
        let candidate = F.policy("extra", numVfs: 8, nodeSelector: ["sriov": "true"], pfNames: ["ens1#4-7", "ens2"])
        let run = state.dryRun(policy: candidate)
        #expect(run.nodes.map(\.node) == ["n1", "n2"])
        let n1 = run.nodes[0]
        #expect(n1.pfs.map(\.pciAddress) == ["0000:01:00.0", "0000:02:00.0"])
        #expect(n1.pfs[0].before?.vfGroups.map(\.vfRange) == ["0-3"])
        #expect(n1.pfs[0].after?.vfGroups.map(\.vfRange) == ["4-7", "0-3"])
        #expect(n1.pfs[0].after?.numVfs == 8)
        #expect(n1.pfs[1].before == nil)
        #expect(n1.pfs[1].after?.numVfs == 8)
        #expect(n1.devicePluginConfigChanged)
        #expect(run.conflicts.isEmpty)
        #expect(state.policies["extra"] == nil)
        #expect(state.outputs == Self.state().outputs)
    }

    @Test func reportsTheConflictsOfTheCandidate() {
        let candidate = F.policy("clash", numVfs: 4, nodeSelector: ["sriov": "true"], pfNames: ["ens1#2-3"])
        let run = Self.state().dryRun(policy: candidate)
        #expect(run.conflicts.map(\.node) == ["n1", "n2"])
        #expect(run.conflicts.allSatisfy { $0.code == .vfRangeOverlap && $0.involves(policy: "clash") && $0.involves(policy: "base") })
    }

    @Test func removalDryRun() {
        let run = Self.state().dryRun(.removePolicy(name: "base"))
        #expect(run.nodes.map(\.node) == ["n1", "n2"])
        #expect(run.nodes.allSatisfy { $0.pfs.allSatisfy { $0.after == nil && $0.before != nil } })
    }
}
