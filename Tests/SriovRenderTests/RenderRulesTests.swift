import SriovProto
import Testing
@testable import SriovRender

/// The rules of node-spec rendering beyond the ported upstream cases.
struct RenderRulesTests {
    typealias F = Fixtures

    static let twoPFs = [F.pf("ensA", "0000:01:00.0"), F.pf("ensB", "0000:01:00.1")]

    static func render(
        _ policies: [SriovV1.SriovNetworkNodePolicy], labels: [String: String] = [:],
        interfaces: [SriovV1.InterfaceExt] = twoPFs
    ) -> NodeRenderOutput {
        NodeRenderOutput.render(
            node: RenderNode(name: "n1", labels: labels, interfaces: interfaces),
            sortedPolicies: NodeSpecRenderer.sortedForApplication(policies), options: .defaults)
    }

    /// A (20) configures PF A; B (10) touches only PF B; C (10) then takes PF A
    /// with an overlapping range. Because the operator compares C's priority
    /// with the previous policy applied to the *node* (B), C counts as equal
    /// priority and PF A's numVfs and mtu are max-merged with A's. Without B
    /// the same C replaces PF A wholesale.
    @Test(arguments: [true, false])
    func equalPriorityIsGlobalAcrossPFs(withPolicyOnOtherPF: Bool) {
        var policies = [
            F.policy("a", priority: 20, numVfs: 8, pfNames: ["ensA"], mtu: 9000),
            F.policy("c", priority: 10, numVfs: 2, pfNames: ["ensA"], mtu: 1500),
        ]
        if withPolicyOnOtherPF { policies.append(F.policy("b", priority: 10, numVfs: 1, pfNames: ["ensB"])) }
        let spec = Self.render(policies).spec
        let pfA = spec?.interfaces.first { $0.pciAddress == "0000:01:00.0" }
        #expect(pfA?.vfGroups.map(\.policyName) == ["c"])
        #expect(pfA?.numVfs == (withPolicyOnOtherPF ? 8 : 2))
        #expect(pfA?.mtu == (withPolicyOnOtherPF ? 9000 : 1500))
    }

    @Test func numVfsZeroWritesNothing() {
        let output = Self.render([F.policy("zero", numVfs: 0, pfNames: ["ensA"])])
        #expect(output.spec == SriovV1.SriovNetworkNodeStateSpec())
    }

    @Test func nodeWithoutInventoryGetsNoSpecButADevicePluginConfig() {
        let output = Self.render([F.policy("p", numVfs: 2, vendor: "8086")], interfaces: [])
        #expect(output.spec == nil)
        #expect(output.devicePluginConfig.resourceList.map(\.resourceName) == ["pres"])
    }

    struct NodeSelectorCase: CustomTestStringConvertible, Sendable {
        var name: String
        var selector: [String: String]
        var selects: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        NodeSelectorCase(name: "empty selector selects every node", selector: [:], selects: true),
        NodeSelectorCase(name: "subset of the labels selects", selector: ["zone": "a"], selects: true),
        NodeSelectorCase(name: "all labels select", selector: ["zone": "a", "sriov": "true"], selects: true),
        NodeSelectorCase(name: "a missing key does not select", selector: ["zone": "a", "gpu": "true"], selects: false),
        NodeSelectorCase(name: "a different value does not select", selector: ["zone": "b"], selects: false),
    ])
    func nodeSelectorIsASubsetMatch(_ c: NodeSelectorCase) {
        let output = Self.render([F.policy("p", nodeSelector: c.selector, pfNames: ["ensA"])],
                                 labels: ["zone": "a", "sriov": "true"])
        #expect((output.spec?.interfaces.isEmpty == false) == c.selects)
    }

    struct NicCase: CustomTestStringConvertible, Sendable {
        var name: String
        var policy: SriovV1.SriovNetworkNodePolicy
        var selected: [String]
        var testDescription: String { name }
    }

    static let nicPFs = [
        F.pf("ens1", "0000:01:00.0", vendor: "8086", device: "1583", altNames: ["enp1s0"],
             netFilter: "openstack/NetworkID:aaaa"),
        F.pf("ens2", "0000:02:00.0", vendor: "15b3", device: "1017", netFilter: "openstack/NetworkID:bbbb"),
    ]

    @Test(arguments: [
        NicCase(name: "empty nicSelector selects nothing", policy: F.policy("p"), selected: []),
        NicCase(name: "vendor", policy: F.policy("p", vendor: "15b3"), selected: ["ens2"]),
        NicCase(name: "deviceID", policy: F.policy("p", deviceID: "1583"), selected: ["ens1"]),
        NicCase(name: "vendor and deviceID must both match", policy: F.policy("p", vendor: "15b3", deviceID: "1583"), selected: []),
        NicCase(name: "rootDevices", policy: F.policy("p", rootDevices: ["0000:02:00.0", "0000:09:00.0"]), selected: ["ens2"]),
        NicCase(name: "pfNames primary name", policy: F.policy("p", pfNames: ["ens1"]), selected: ["ens1"]),
        NicCase(name: "pfNames altName", policy: F.policy("p", pfNames: ["enp1s0"]), selected: ["ens1"]),
        NicCase(name: "pfNames with range compares the name part", policy: F.policy("p", pfNames: ["ens2#0-0"]), selected: ["ens2"]),
        NicCase(name: "netFilter", policy: F.policy("p", netFilter: "openstack/NetworkID:bbbb"), selected: ["ens2"]),
        NicCase(name: "netFilter with another id", policy: F.policy("p", netFilter: "openstack/NetworkID:cccc"), selected: []),
        NicCase(name: "every set field must match", policy: F.policy("p", vendor: "8086", rootDevices: ["0000:02:00.0"]), selected: []),
    ])
    func nicSelectorFields(_ c: NicCase) {
        let output = Self.render([c.policy], interfaces: Self.nicPFs)
        #expect(output.spec?.interfaces.map(\.name) == c.selected)
    }

    @Test(arguments: [
        (["ens1#2-3"], "2-3"),
        (["enp1s0#2-3"], "0-3"),
        (["ens9#1-1", "ens1#1-2"], "1-2"),
        (["ens1"], "0-3"),
    ])
    func vfRangeComesFromThePrimaryNameElseTheFullRange(pfNames: [String], range: String) {
        let output = Self.render([F.policy("p", numVfs: 4, pfNames: pfNames)], interfaces: Self.nicPFs)
        #expect(output.spec?.interfaces.first?.vfGroups.first?.vfRange == range)
    }

    @Test func lowerPriorityNumberWinsAndNameBreaksTies() {
        let policies = [
            F.policy("z-low", priority: 50, numVfs: 3, pfNames: ["ensA"]),
            F.policy("high", priority: 10, numVfs: 2, pfNames: ["ensA"]),
            F.policy("b", priority: 30, numVfs: 4, pfNames: ["ensB"]),
            F.policy("c", priority: 30, numVfs: 5, pfNames: ["ensB"]),
        ]
        let spec = Self.render(policies).spec
        #expect(spec?.interfaces.first { $0.name == "ensA" }?.vfGroups.map(\.policyName) == ["high"])
        #expect(spec?.interfaces.first { $0.name == "ensB" }?.vfGroups.map(\.policyName) == ["c"])
        #expect(NodeSpecRenderer.sortedForApplication(policies).map(\.name) == ["z-low", "b", "c", "high"])
    }

    @Test func absentPriorityOrdersAs99() {
        let unset = F.policy("a-unset", priority: nil, numVfs: 2, pfNames: ["ensA"])
        let ninetyNine = F.policy("b-99", priority: 99, numVfs: 3, pfNames: ["ensA"])
        let fifty = F.policy("c-50", priority: 50, numVfs: 4, pfNames: ["ensA"])
        #expect(NodeSpecRenderer.sortedForApplication([fifty, ninetyNine, unset]).map(\.name) == ["a-unset", "b-99", "c-50"])
    }

    @Test func pfOrderIsTheOrderFirstTouched() {
        let policies = [
            F.policy("first", priority: 99, numVfs: 1, pfNames: ["ensB"]),
            F.policy("second", priority: 10, numVfs: 1, vendor: "8086"),
        ]
        #expect(Self.render(policies).spec?.interfaces.map(\.name) == ["ensB", "ensA"])
    }

    @Test func policyNamedDefaultIsIgnored() {
        let output = Self.render([F.policy("default", numVfs: 2, vendor: "8086")])
        #expect(output.spec?.interfaces.isEmpty == true)
        #expect(output.devicePluginConfig.resourceList.isEmpty)
    }

    @Test func keptGroupMaxMergesAcrossPrioritiesAndNewestDecidesPFSettings() {
        let policies = [
            F.policy("wide", priority: 20, numVfs: 8, pfNames: ["ensA#4-7"], mtu: 9000, linkType: "eth"),
            F.policy("narrow", priority: 10, numVfs: 4, pfNames: ["ensA#0-3"], mtu: 1500, externallyManaged: false),
        ]
        let pf = Self.render(policies).spec?.interfaces.first
        #expect(pf?.vfGroups.map(\.vfRange) == ["0-3", "4-7"])
        #expect(pf?.numVfs == 8)
        #expect(pf?.mtu == 9000)
        #expect(pf?.linkType == "")
    }
}
