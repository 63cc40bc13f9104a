import SriovProto

/// Finds the ``RenderConflict``s among the policies that select one node.
///
/// The step-by-step statement of the rules. Rendering finds the same
/// conflicts through ``PolicySet``, which does the policy-only checks once per
/// set of policies; the tests hold the two to the same output.
enum ConflictDetector {
    /// All conflicts on a node, sorted. `selecting` are the policies that
    /// select the node, in application order (policy `default` excepted). In a
    /// pair, `policy` is the one applied later.
    static func conflicts(
        node: String,
        selecting: [SriovV1.SriovNetworkNodePolicy],
        interfaces: [SriovV1.InterfaceExt],
        applyErrors: [NodeSpecRenderer.ApplyError]
    ) -> [RenderConflict] {
        var found: [RenderConflict] = []

        for error in applyErrors {
            let pf = interfaces.first { $0.pciAddress == error.pciAddress }
            found.append(RenderConflict(
                code: .invalidPFNameRange, node: node, policy: error.policy,
                pciAddress: error.pciAddress, pfName: pf?.name,
                message: "policy \"\(error.policy)\": spec.nicSelector.pfNames entry \"\(error.pfNamesEntry)\" has a malformed VF range; expected name or name#first-last with integers first <= last"))
        }

        // excludeTopology must agree across a resourceName.
        var byResource: [String: [SriovV1.SriovNetworkNodePolicy]] = [:]
        for policy in selecting { byResource[policy.spec.resourceName, default: []].append(policy) }
        for (resource, group) in byResource {
            ConflictGroups.excludeTopology(
                group.map { ($0.name, $0.spec.excludeTopology) }, resource: resource, node: node, into: &found)
        }

        // Identical rootDevices entries.
        var byRootDevice: [String: [String]] = [:]
        for policy in selecting {
            for device in Set(policy.spec.nicSelector.rootDevices) { byRootDevice[device, default: []].append(policy.name) }
        }
        for (device, names) in byRootDevice {
            let pf = interfaces.first { $0.pciAddress == device }
            ConflictGroups.duplicateRootDevice(names, device: device, pfName: pf?.name, node: node, into: &found)
        }

        for pf in interfaces {
            var selectors: [SriovV1.SriovNetworkNodePolicy] = []
            var naming: [ConflictGroups.NamingEntry] = []
            for (i, policy) in selecting.enumerated() {
                let nic = policy.spec.nicSelector
                if nic.selects(pf) {
                    selectors.append(policy)
                    if pf.totalvfs > 0 && policy.spec.numVfs > pf.totalvfs {
                        found.append(RenderConflict(
                            code: .numVfsExceedsTotalVfs, node: node, policy: policy.name,
                            pciAddress: pf.pciAddress, pfName: pf.name,
                            message: "policy \"\(policy.name)\": spec.numVfs \(policy.spec.numVfs) exceeds sriov_totalvfs \(pf.totalvfs) of \(pf.pciAddress); use at most \(pf.totalvfs)"))
                    }
                }
                // Same PF named twice: two ranges that overlap, or two plain names.
                for (e, raw) in nic.pfNames.enumerated() {
                    let name = String(PFNameSelector.name(of: raw))
                    guard name == pf.name || pf.altNames.contains(name), let parsed = PFNameSelector(raw) else { continue }
                    let bounds = parsed.first.flatMap { f in parsed.last.map { (first: f, last: $0) } }
                    naming.append(ConflictGroups.NamingEntry(
                        policy: i, entry: e, policyName: policy.name, raw: raw, bounds: bounds))
                }
            }
            ConflictGroups.naming(naming, node: node, pciAddress: pf.pciAddress, pfName: pf.name, into: &found)
            // externallyManaged must agree on a PF.
            ConflictGroups.externallyManaged(
                selectors.map { ($0.name, $0.spec.externallyManaged) }, pciAddress: pf.pciAddress, pfName: pf.name,
                node: node, into: &found)
        }
        return found.sorted()
    }
}
