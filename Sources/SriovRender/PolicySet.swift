import SriovProto

/// The policies selecting a node, in application order, with what depends on
/// them alone worked out once for every node they select together.
///
/// Everything a node's render produces splits by what it depends on:
///
/// - the device-plugin config depends on the policies only, unless one of them
///   has a netFilter (its `pciAddresses` then come from the node's PFs);
/// - the excludeTopology and duplicate-rootDevices conflicts depend on the
///   policies only (plus the name of the PF a duplicated address belongs to);
/// - the spec and the per-PF conflicts depend on the policies and the PFs.
///
/// A set is built once per distinct list of selected policies and then
/// renders each node (``render(node:interfaces:)``) doing only the PF-dependent
/// work. The nodes of a pool share their set even when their hardware differs.
final class PolicySet: Sendable {
    /// The selected policies, in application order, without `default`.
    let policies: [CompiledPolicy]
    /// The device-plugin config, when no policy has a netFilter.
    let devicePluginConfig: DevicePluginConfig?
    /// The resourceNames whose policies disagree on excludeTopology, with
    /// those policies in application order.
    let excludeTopologyGroups: [(resource: String, policies: [Int])]
    /// Addresses listed in the rootDevices of more than one policy, with the
    /// names of those policies in application order.
    let duplicateRootDevices: [(device: String, policies: [String])]
    /// The valid pfNames entries by the name they give (the text before `#`),
    /// in policy order: the PF-naming conflicts of a PF are looked for among
    /// the entries under its name and altNames only.
    let namingEntries: [String: [ConflictGroups.NamingEntry]]
    private let nics: SupportedNICTable

    init(_ policies: [CompiledPolicy], nics: SupportedNICTable) {
        self.policies = policies
        self.nics = nics
        devicePluginConfig = policies.contains { !$0.netFilter.isEmpty }
            ? nil
            : DevicePluginConfig.render(compiled: policies, interfaces: [], nics: nics)
        var byName: [String: [ConflictGroups.NamingEntry]] = [:]
        for (i, policy) in policies.enumerated() {
            for (e, entry) in policy.pfNames.enumerated() where entry.isValid {
                byName[entry.name, default: []].append(
                    ConflictGroups.NamingEntry(
                        policy: i, entry: e, policyName: policy.name, raw: entry.raw, bounds: entry.bounds))
            }
        }
        namingEntries = byName

        // The groups of policies sharing a resourceName, in application order.
        var byResource: [String: [Int]] = [:]
        for (i, policy) in policies.enumerated() { byResource[policy.policy.spec.resourceName, default: []].append(i) }
        excludeTopologyGroups = byResource.compactMap { resource, group in
            guard group.count > 1, Set(group.map { policies[$0].policy.spec.excludeTopology }).count > 1 else { return nil }
            return (resource, group)
        }

        var byRootDevice: [String: [String]] = [:]
        var duplicated: [String] = []
        for policy in policies where !policy.rootDevices.isEmpty {
            for device in Set(policy.rootDevices) {
                byRootDevice[device, default: []].append(policy.name)
                if byRootDevice[device]!.count == 2 { duplicated.append(device) }
            }
        }
        duplicateRootDevices = duplicated.map { ($0, byRootDevice[$0]!) }
    }

    /// A set for policies already known to select the node, compiled on the spot.
    convenience init(selected: [SriovV1.SriovNetworkNodePolicy], nics: SupportedNICTable) {
        self.init(selected.map(CompiledPolicy.init), nics: nics)
    }

    /// Renders one node: the same output as
    /// ``NodeSpecRenderer/render(selectedPolicies:interfaces:errors:)``,
    /// ``DevicePluginConfig/render(selectedPolicies:interfaces:nics:)`` and
    /// ``ConflictDetector/conflicts(node:selecting:interfaces:applyErrors:)``
    /// together, sharing their work.
    func render(node: String, interfaces: [SriovV1.InterfaceExt]) -> NodeRenderOutput {
        render(node: node, pfs: interfaces.map(RenderPF.init), interfaces: interfaces)
    }

    /// ``render(node:interfaces:)`` with the PFs' render-relevant fields
    /// already taken out.
    func render(node: String, pfs: [RenderPF], interfaces: [SriovV1.InterfaceExt]) -> NodeRenderOutput {
        let pfCount = pfs.count
        // Which policy selects which PF, row by policy.
        var selects = [Bool](repeating: false, count: policies.count * pfCount)
        for (i, policy) in policies.enumerated() where !policy.selectsNothing {
            for k in 0..<pfCount where policy.selects(pfs[k]) { selects[i * pfCount + k] = true }
        }

        var errors: [NodeSpecRenderer.ApplyError] = []
        let spec = pfCount == 0 ? nil : self.spec(pfs, selects: selects, errors: &errors)
        let config = devicePluginConfig
            ?? DevicePluginConfig.render(compiled: policies, interfaces: interfaces, nics: nics)
        let conflicts = self.conflicts(node: node, pfs: pfs, selects: selects, applyErrors: errors)
        return NodeRenderOutput(spec: spec, devicePluginConfig: config, conflicts: conflicts)
    }

    /// The spec (``NodeSpecRenderer/render(selectedPolicies:interfaces:errors:)``).
    private func spec(
        _ pfs: [RenderPF], selects: [Bool], errors: inout [NodeSpecRenderer.ApplyError]
    ) -> SriovV1.SriovNetworkNodeStateSpec {
        let pfCount = pfs.count
        var interfaces: [SriovV1.Interface] = []
        // The parsed vfRange of every group of every entry, in step with them;
        // both last first until the end (``CompiledPolicy/merge(intoReversed:ranges:pf:group:equalPriority:)``).
        var ranges: [[(Int, Int)?]] = []
        var previousPriority: Int32 = 100
        for (i, policy) in policies.enumerated() {
            let equalPriority = previousPriority == policy.priority
            previousPriority = policy.priority
            guard policy.numVfs > 0 else { continue }
            selected: for k in 0..<pfCount where selects[i * pfCount + k] {
                let pf = pfs[k]
                let group: GroupWithRange
                switch policy.vfGroup(for: pf) {
                case .success(let g): group = g
                case .failure(let error):
                    // The PFs before keep their changes, as upstream.
                    errors.append(error)
                    break selected
                }
                if let index = interfaces.firstIndex(where: { $0.pciAddress == pf.pciAddress }) {
                    policy.merge(
                        intoReversed: &interfaces[index], ranges: &ranges[index], pf: pf, group: group,
                        equalPriority: equalPriority)
                } else {
                    interfaces.append(policy.newInterface(for: pf, group: group))
                    ranges.append([group.range])
                }
            }
        }
        for i in interfaces.indices where interfaces[i].vfGroups.count > 1 { interfaces[i].vfGroups.reverse() }
        var spec = SriovV1.SriovNetworkNodeStateSpec()
        spec.interfaces = interfaces
        return spec
    }
}
