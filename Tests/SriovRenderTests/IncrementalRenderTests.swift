import SriovProto
import SriovTestSupport
import Testing
@testable import SriovRender

/// Incremental rendering equals a full render after any sequence of changes.
struct IncrementalRenderTests {
    typealias F = Fixtures

    static let nodeNames = ["n0", "n1", "n2", "n3", "n4", "n5"]
    static let policyNames = ["pa", "pb", "pc", "pd", "pe", "default"]
    static let labelChoices: [[String: String]] = [
        [:], ["pool": "a"], ["pool": "b"], ["pool": "a", "sriov": "true"], ["pool": "b", "sriov": "true"],
    ]
    static let inventories: [[SriovV1.InterfaceExt]] = [
        [],
        // The same PFs as the next entry with other MACs: a different inventory, the same shape.
        [F.pf("ens1", "0000:01:00.0", totalvfs: 8), F.pf("ens2", "0000:02:00.0", device: "1583", totalvfs: 8)].map {
            var pf = $0
            pf.mac = "02:00:00:00:00:01"
            return pf
        },
        [F.pf("ens1", "0000:01:00.0", totalvfs: 8), F.pf("ens2", "0000:02:00.0", device: "1583", totalvfs: 8)],
        [F.pf("ens2", "0000:02:00.0", device: "1583", totalvfs: 16, altNames: ["alt2"]), F.pf("ens3", "0000:03:00.0", vendor: "15b3", device: "1017")],
        [F.pf("ens1", "0000:01:00.0", totalvfs: 4, altNames: ["alt1"]), F.pf("ens3", "0000:03:00.0", vendor: "15b3", device: "1017")],
    ]

    static func randomPolicy(_ rng: inout SplitMix64) -> SriovV1.SriovNetworkNodePolicy {
        let name = policyNames.randomElement(using: &rng)!
        let selectors: [[String: String]] = [[:], ["pool": "a"], ["pool": "b"], ["sriov": "true"]]
        let pfNameChoices: [[String]] = [[], ["ens1"], ["ens2#0-1"], ["ens2#2-5"], ["alt2#0-3"], ["ens1#1-2", "ens3"], ["alt1"]]
        let numVfs = Int32.random(in: 0...10, using: &rng)
        return F.policy(
            name, resource: ["r1", "r2", "r3"].randomElement(using: &rng)!,
            priority: [nil, 10, 10, 50, 99].randomElement(using: &rng)!,
            numVfs: numVfs,
            nodeSelector: selectors.randomElement(using: &rng)!,
            vendor: ["", "", "8086", "15b3"].randomElement(using: &rng)!,
            deviceID: ["", "", "1583"].randomElement(using: &rng)!,
            rootDevices: [[], [], ["0000:01:00.0"], ["0000:03:00.0"]].randomElement(using: &rng)!,
            pfNames: pfNameChoices.randomElement(using: &rng)!,
            deviceType: ["netdevice", "vfio-pci"].randomElement(using: &rng)!,
            mtu: [0, 1500, 9000].randomElement(using: &rng)!,
            linkType: ["", "eth"].randomElement(using: &rng)!,
            excludeTopology: Bool.random(using: &rng),
            externallyManaged: Int.random(in: 0..<5, using: &rng) == 0)
    }

    static func randomChange(_ rng: inout SplitMix64) -> RenderChange {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0...3: return .upsertPolicy(randomPolicy(&rng))
        case 4: return .removePolicy(name: policyNames.randomElement(using: &rng)!)
        case 5: return .setNodeLabels(node: nodeNames.randomElement(using: &rng)!, labels: labelChoices.randomElement(using: &rng)!)
        case 6: return .setNodeInterfaces(node: nodeNames.randomElement(using: &rng)!, interfaces: inventories.randomElement(using: &rng)!)
        case 7: return .upsertNode(RenderNode(name: nodeNames.randomElement(using: &rng)!,
                                              labels: labelChoices.randomElement(using: &rng)!,
                                              interfaces: inventories.randomElement(using: &rng)!))
        case 8: return .removeNode(name: nodeNames.randomElement(using: &rng)!)
        default:
            if Bool.random(using: &rng) {
                return .upsertNetwork(F.network(["net1", "net2"].randomElement(using: &rng)!) {
                    $0.vlan = Int32.random(in: 0...4094, using: &rng)
                })
            }
            return .removeNetwork(namespace: "ns", name: ["net1", "net2"].randomElement(using: &rng)!)
        }
    }

    @Test(arguments: [UInt64(1), 42, 0xC0FFEE, 2026])
    func incrementalEqualsFullRender(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var state = RenderState()
        for step in 0..<200 {
            let before = state.outputs
            let beforeNADs = state.attachments
            let change = Self.randomChange(&rng)
            let delta = state.apply(change)
            // The reference: every node rendered on its own, without the state's shape cache.
            let sorted = NodeSpecRenderer.sortedForApplication(state.policies.values)
            let reference = state.nodes.mapValues {
                NodeRenderOutput.render(node: $0, sortedPolicies: sorted, options: .defaults)
            }
            #expect(state.outputs == reference, "seed \(seed) step \(step): \(change)")
            let full = RenderState(
                policies: Array(state.policies.values), networks: Array(state.networks.values),
                nodes: Array(state.nodes.values))
            #expect(full.outputs == reference, "seed \(seed) step \(step)")
            #expect(state.attachments == full.attachments, "seed \(seed) step \(step)")
            // The delta names exactly the nodes and networks whose output changed.
            let changed = Set(before.keys).union(state.outputs.keys).filter { before[$0] != state.outputs[$0] }
            #expect(Set(delta.changedNodes) == changed, "seed \(seed) step \(step): \(change)")
            let changedNADs = Set(beforeNADs.keys).union(state.attachments.keys).filter { beforeNADs[$0] != state.attachments[$0] }
            #expect(Set(delta.changedNetworks) == changedNADs, "seed \(seed) step \(step)")
        }
    }

    @Test func policyChangeReRendersOnlyTheNodesItSelects() {
        var nodes: [RenderNode] = []
        for i in 0..<10 {
            nodes.append(RenderNode(name: "n\(i)", labels: ["pool": i < 3 ? "a" : "b"],
                                    interfaces: [F.pf("ens1", "0000:01:00.0")]))
        }
        var state = RenderState(policies: [], networks: [], nodes: nodes)
        let delta = state.apply(.upsertPolicy(F.policy("p", numVfs: 2, nodeSelector: ["pool": "a"], pfNames: ["ens1"])))
        #expect(delta.reRenderedNodes == 3)
        #expect(delta.changedNodes == ["n0", "n1", "n2"])
        let same = state.apply(.upsertPolicy(F.policy("p", numVfs: 2, nodeSelector: ["pool": "a"], pfNames: ["ens1"])))
        #expect(same.isEmpty && same.reRenderedNodes == 0)
    }
}
