import SriovProto
import Testing
@testable import SriovRender

/// Every case of the upstream operator's `TestSriovNetworkNodePolicyApply`,
/// `TestVirtioVdpaNodePolicyApply` and `TestVhostVdpaNodePolicyApply`.
struct PolicyApplyTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var current: [SriovV1.Interface]
        var policy: SriovV1.SriovNetworkNodePolicy
        var equalPriority: Bool
        var expected: [SriovV1.Interface]
        var expectError = false
        var testDescription: String { name }
    }

    static let capable = ["feature.node.kubernetes.io/network-sriov.capable": "true"]

    static var virtioVdpaPolicy: SriovV1.SriovNetworkNodePolicy {
        Fixtures.policy("p1", resource: "virtiovdpa", numVfs: 4, nodeSelector: capable, vendor: "8086",
                        rootDevices: ["0000:86:00.1"], pfNames: ["ens803f1#2-3"], vdpaType: "virtio")
    }

    static var vhostVdpaPolicy: SriovV1.SriovNetworkNodePolicy {
        Fixtures.policy("p1", resource: "vhostvdpa", numVfs: 2, nodeSelector: capable, vendor: "8086",
                        rootDevices: ["0000:86:00.1"], pfNames: ["ens803f1"], vdpaType: "vhost")
    }

    static let cases: [Case] = {
        typealias F = Fixtures
        let p1 = F.group("p1res", "0-1", policy: "p1")
        return [
            Case(name: "starting config", current: [], policy: F.upstreamPolicy, equalPriority: false,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 2, groups: [p1])]),
            Case(name: "one policy present different pf",
                 current: [F.iface("ens803f0", "0000:86:00.0", numVfs: 2, groups: [F.group("prevres", "0-1", policy: "p2")])],
                 policy: F.upstreamPolicy, equalPriority: false,
                 expected: [F.iface("ens803f0", "0000:86:00.0", numVfs: 2, groups: [F.group("prevres", "0-1", policy: "p2")]),
                            F.iface("ens803f1", "0000:86:00.1", numVfs: 2, groups: [p1])]),
            Case(name: "one policy present same pf different priority",
                 current: [F.iface("ens803f1", "0000:86:00.1", numVfs: 3,
                                   groups: [F.group("vfiores", "0-1", policy: "p2", deviceType: "vfio-pci")])],
                 policy: F.upstreamPolicy, equalPriority: false,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 2, groups: [p1])]),
            Case(name: "one policy present same pf same priority",
                 current: [F.iface("ens803f1", "0000:86:00.1", numVfs: 3, mtu: 2000,
                                   groups: [F.group("vfiores", "0-1", policy: "p2", deviceType: "vfio-pci")])],
                 policy: F.upstreamPolicy, equalPriority: true,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 3, mtu: 2000, groups: [p1])]),
            Case(name: "one policy present same pf same priority partitioning",
                 current: [F.iface("ens803f1", "0000:86:00.1", numVfs: 5,
                                   groups: [F.group("vfiores", "2-4", policy: "p2", deviceType: "vfio-pci")])],
                 policy: F.upstreamPolicy, equalPriority: true,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 5,
                                    groups: [p1, F.group("vfiores", "2-4", policy: "p2", deviceType: "vfio-pci")])]),
            Case(name: "one vdpa policy present same pf same priority partitioning",
                 current: [F.iface("ens803f1", "0000:86:00.1", numVfs: 4,
                                   groups: [F.group("vhostvdpa", "0-1", policy: "p2", vdpaType: "vhost")])],
                 policy: virtioVdpaPolicy, equalPriority: true,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 4,
                                    groups: [F.group("virtiovdpa", "2-3", policy: "p1", vdpaType: "virtio"),
                                             F.group("vhostvdpa", "0-1", policy: "p2", vdpaType: "vhost")])]),
            Case(name: "two policy present same pf same priority overlap",
                 current: [F.iface("ens803f1", "0000:86:00.1", numVfs: 2,
                                   groups: [F.group("vfiores1", "0-0", policy: "p2", deviceType: "vfio-pci"),
                                            F.group("vfiores2", "1-1", policy: "p3", deviceType: "vfio-pci")])],
                 policy: F.upstreamPolicy, equalPriority: true,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 2, groups: [p1])]),
            Case(name: "one policy present same pf same priority same ResourceName",
                 current: [F.iface("ens803f1", "0000:86:00.1", numVfs: 4,
                                   groups: [F.group("p1res", "2-3", policy: "p2", deviceType: "vfio-pci")])],
                 policy: F.upstreamPolicy, equalPriority: true,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 4, groups: [p1])]),
            Case(name: "one policy present same pf diff priority no overlap VFs",
                 current: [F.iface("ens803f1", "0000:86:00.1", numVfs: 4,
                                   groups: [F.group("p2res", "2-3", policy: "p2", deviceType: "vfio-pci")])],
                 policy: F.upstreamPolicy, equalPriority: false,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 4,
                                    groups: [p1, F.group("p2res", "2-3", policy: "p2", deviceType: "vfio-pci")])]),
            Case(name: "no selectors", current: [],
                 policy: F.policy("p1", resource: "p1res", nodeSelector: capable), equalPriority: false,
                 expected: []),
            Case(name: "bad pf partition", current: [],
                 policy: F.policy("p1", resource: "p1res", nodeSelector: capable, pfNames: ["ens803f0#a-c"]),
                 equalPriority: false, expected: [], expectError: true),
            Case(name: "virtio/vdpa configuration", current: [], policy: virtioVdpaPolicy, equalPriority: false,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 4,
                                    groups: [F.group("virtiovdpa", "2-3", policy: "p1", vdpaType: "virtio")])]),
            Case(name: "vhost/vdpa configuration", current: [], policy: vhostVdpaPolicy, equalPriority: false,
                 expected: [F.iface("ens803f1", "0000:86:00.1", numVfs: 2,
                                    groups: [F.group("vhostvdpa", "0-1", policy: "p1", vdpaType: "vhost")])]),
        ]
    }()

    @Test(arguments: cases)
    func applyMatchesUpstream(_ c: Case) {
        var spec = Fixtures.spec(c.current)
        var threw = false
        do {
            try NodeSpecRenderer.apply(c.policy, to: &spec, interfaces: Fixtures.upstreamPFs, equalPriority: c.equalPriority)
        } catch {
            threw = true
            #expect(error.pfNamesEntry == "ens803f0#a-c")
        }
        #expect(threw == c.expectError)
        #expect(spec.interfaces == c.expected)
    }
}
