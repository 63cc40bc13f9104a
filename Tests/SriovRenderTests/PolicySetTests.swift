import SriovTestSupport
import SriovProto
import Testing
@testable import SriovRender

/// The shared-work render (``PolicySet``) gives exactly what the step-by-step
/// algorithms give: ``NodeSpecRenderer``, ``DevicePluginConfig`` and
/// ``ConflictDetector`` run one after the other on the same node.
struct PolicySetTests {
    typealias F = Fixtures

    static let pfNameChoices: [[String]] = [
        [], [], ["ens1"], ["ens2#0-1"], ["ens2#2-5"], ["alt2#0-3"], ["ens1#1-2", "ens3"], ["alt1"],
        ["ens1#x-1"], ["ens2#1-3", "ens2#bad"], ["ens3", "ens1#0-0"], ["ens2#+1-2-9"],
    ]

    static func randomPolicy(_ rng: inout SplitMix64) -> SriovV1.SriovNetworkNodePolicy {
        var policy = F.policy(
            ["pa", "pb", "pc", "pd", "pe", "pf", "pg"].randomElement(using: &rng)!,
            resource: ["r1", "r2", "r3"].randomElement(using: &rng)!,
            priority: [nil, 10, 10, 50, 99].randomElement(using: &rng)!,
            numVfs: Int32.random(in: 0...20, using: &rng),
            vendor: ["", "", "8086", "15b3"].randomElement(using: &rng)!,
            deviceID: ["", "", "1583", "1017"].randomElement(using: &rng)!,
            rootDevices: [[], [], ["0000:01:00.0"], ["0000:03:00.0", "0000:01:00.0"]].randomElement(using: &rng)!,
            pfNames: pfNameChoices.randomElement(using: &rng)!,
            netFilter: ["", "", "", "openstack/NetworkID:abc", "openstack/NetworkID:def", "garbage"].randomElement(using: &rng)!,
            deviceType: ["netdevice", "vfio-pci"].randomElement(using: &rng)!,
            mtu: [0, 1500, 9000].randomElement(using: &rng)!,
            isRdma: Bool.random(using: &rng),
            linkType: ["", "eth", "IB"].randomElement(using: &rng)!,
            excludeTopology: Bool.random(using: &rng),
            externallyManaged: Int.random(in: 0..<4, using: &rng) == 0)
        policy.spec.nodeSelector = [:]
        return policy
    }

    static func randomInventory(_ rng: inout SplitMix64) -> [SriovV1.InterfaceExt] {
        let all = [
            F.pf("ens1", "0000:01:00.0", totalvfs: 8, altNames: ["alt1"], netFilter: "openstack/NetworkID:abc"),
            F.pf("ens2", "0000:02:00.0", device: "1583", totalvfs: 16, altNames: ["alt2"]),
            F.pf("ens3", "0000:03:00.0", vendor: "15b3", device: "1017", netFilter: "  openstack/NetworkID : def"),
            F.pf("ens4", "0000:01:00.0", totalvfs: 4),
            F.pf("alt1", "0000:05:00.0", device: "1583"),
        ]
        return all.filter { _ in Int.random(in: 0..<3, using: &rng) > 0 }.shuffled(using: &rng)
    }

    @Test(arguments: [UInt64(7), 99, 0xBEEF, 31337])
    func sharedWorkRenderEqualsStepByStep(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for round in 0..<400 {
            let policies = (0..<Int.random(in: 0...6, using: &rng)).map { _ in Self.randomPolicy(&rng) }
            let sorted = NodeSpecRenderer.sortedForApplication(policies)
            let interfaces = Self.randomInventory(&rng)
            let node = RenderNode(name: "n\(round)", interfaces: interfaces)

            let selected = NodeSpecRenderer.selected(sorted, labels: [:])
            var errors: [NodeSpecRenderer.ApplyError] = []
            let spec = NodeSpecRenderer.render(selectedPolicies: selected, interfaces: interfaces, errors: &errors)
            let config = DevicePluginConfig.render(selectedPolicies: selected, interfaces: interfaces, nics: .defaults)
            let conflicts = ConflictDetector.conflicts(
                node: node.name, selecting: selected, interfaces: interfaces, applyErrors: errors)

            let output = NodeRenderOutput.render(node: node, sortedPolicies: sorted, options: .defaults)
            #expect(output.spec == spec, "seed \(seed) round \(round)")
            #expect(output.devicePluginConfig.jsonText == config.jsonText, "seed \(seed) round \(round)")
            #expect(output.conflicts == conflicts, "seed \(seed) round \(round)")

            // Through a state, where the policy set is shared with other nodes
            // (a state keeps the last policy of a name).
            let state = RenderState(
                policies: policies, networks: [],
                nodes: [node, RenderNode(name: "other", interfaces: Self.randomInventory(&rng))])
            let unique = Dictionary(policies.map { ($0.name, $0) }, uniquingKeysWith: { $1 }).values
            let reference = NodeRenderOutput.render(
                node: node, sortedPolicies: NodeSpecRenderer.sortedForApplication(unique), options: .defaults)
            #expect(state.outputs[node.name] == reference, "seed \(seed) round \(round)")
        }
    }

    /// A group dropped from the middle of a PF's list moves the later ones up;
    /// a further policy must see each kept group's own range. C drops B and
    /// keeps A, then D (overlapping A only) drops A.
    @Test func keptGroupsKeepTheirRangesAcrossMerges() {
        let policies = [
            F.policy("a", resource: "ra", priority: 40, numVfs: 8, pfNames: ["ens1#0-3"]),
            F.policy("b", resource: "rb", priority: 30, numVfs: 8, pfNames: ["ens1#4-7"]),
            F.policy("c", resource: "rc", priority: 20, numVfs: 8, pfNames: ["ens1#5-6"]),
            F.policy("d", resource: "rd", priority: 10, numVfs: 8, pfNames: ["ens1#0-2"]),
        ]
        let node = RenderNode(name: "n1", interfaces: [F.pf("ens1", "0000:01:00.0")])
        let sorted = NodeSpecRenderer.sortedForApplication(policies)
        var errors: [NodeSpecRenderer.ApplyError] = []
        let spec = NodeSpecRenderer.render(selectedPolicies: sorted, interfaces: node.interfaces, errors: &errors)
        let output = NodeRenderOutput.render(node: node, sortedPolicies: sorted, options: .defaults)
        #expect(output.spec == spec)
        #expect(output.spec?.interfaces.first?.vfGroups.map(\.policyName) == ["d", "c"])
    }

    /// The reference reading of `first-last`: split on `-`, each of the first
    /// two fields an optional `+` and decimal digits (Go's `strconv.Atoi`).
    static func referenceBounds(_ text: String) -> (Int, Int)? {
        let fields = text.split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count >= 2 else { return nil }
        func atoi(_ field: Substring) -> Int? {
            let digits = field.hasPrefix("+") ? field.dropFirst() : field
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(digits)
        }
        guard let first = atoi(fields[0]), let last = atoi(fields[1]) else { return nil }
        return (first, last)
    }

    @Test func vfRangeParsingMatchesTheReference() {
        var rng = SplitMix64(seed: 5)
        let alphabet = Array("0129+-x ")
        for _ in 0..<20_000 {
            let text = String((0..<Int.random(in: 0...7, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            let bounds = VFRange.parseBounds(text)
            let reference = Self.referenceBounds(text)
            #expect(bounds?.0 == reference?.0 && bounds?.1 == reference?.1, "\(text)")
        }
        #expect(VFRange.parseBounds("99999999999999999999-1") == nil)
    }
}
