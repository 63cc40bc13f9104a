import SriovProto

extension PolicySet {
    /// All conflicts on a node, sorted: those of
    /// ``ConflictDetector/conflicts(node:selecting:interfaces:applyErrors:)``,
    /// with the policy-only checks done once per set and the PF selection
    /// taken from the spec's render. `selects` is the policy × PF selection,
    /// row by policy.
    func conflicts(
        node: String, pfs interfaces: [RenderPF], selects: [Bool],
        applyErrors: [NodeSpecRenderer.ApplyError]
    ) -> [RenderConflict] {
        var found: [RenderConflict] = []
        func pfName(at address: String) -> String? {
            interfaces.first { $0.pciAddress == address }?.name
        }

        for error in applyErrors {
            found.append(RenderConflict(
                code: .invalidPFNameRange, node: node, policy: error.policy,
                pciAddress: error.pciAddress, pfName: pfName(at: error.pciAddress),
                message: "policy \"\(error.policy)\": spec.nicSelector.pfNames entry \"\(error.pfNamesEntry)\" has a malformed VF range; expected name or name#first-last with integers first <= last"))
        }

        for (resource, group) in excludeTopologyGroups {
            ConflictGroups.excludeTopology(
                group.map { (policies[$0].name, policies[$0].policy.spec.excludeTopology) }, resource: resource,
                node: node, into: &found)
        }

        for (device, names) in duplicateRootDevices {
            ConflictGroups.duplicateRootDevice(names, device: device, pfName: pfName(at: device), node: node, into: &found)
        }

        let pfCount = interfaces.count
        for k in 0..<pfCount {
            var firstSelector: CompiledPolicy?
            var managedMismatch = false
            let totalvfs = interfaces[k].totalvfs
            for i in policies.indices where selects[i * pfCount + k] {
                let policy = policies[i]
                if totalvfs > 0 && policy.numVfs > totalvfs {
                    let pf = interfaces[k]
                    found.append(RenderConflict(
                        code: .numVfsExceedsTotalVfs, node: node, policy: policy.name,
                        pciAddress: pf.pciAddress, pfName: pf.name,
                        message: "policy \"\(policy.name)\": spec.numVfs \(policy.numVfs) exceeds sriov_totalvfs \(pf.totalvfs) of \(pf.pciAddress); use at most \(pf.totalvfs)"))
                }
                if let firstSelector {
                    if firstSelector.externallyManaged != policy.externallyManaged { managedMismatch = true }
                } else {
                    firstSelector = policy
                }
            }
            if !namingEntries.isEmpty { appendNamingConflicts(node: node, pf: interfaces[k], into: &found) }
            if managedMismatch {
                appendManagedConflicts(node: node, pf: interfaces[k], pfIndex: k, pfCount: pfCount, selects: selects, into: &found)
            }
        }
        if found.count > 1 { found.sort() }
        return found
    }

    /// Same PF named twice: two ranges that overlap, or two plain names
    /// (``ConflictGroups/naming(_:node:pciAddress:pfName:into:)``), among the
    /// entries under the PF's name and altNames.
    private func appendNamingConflicts(node: String, pf: RenderPF, into found: inout [RenderConflict]) {
        var entries = namingEntries[pf.name] ?? []
        var merged = false
        var seen: Set<String> = [pf.name]
        for alt in pf.altNames where seen.insert(alt).inserted {
            guard let more = namingEntries[alt] else { continue }
            entries += more
            merged = true
        }
        guard entries.count > 1 else { return }
        // Entries of several names: back to policy order (each list is already in it).
        if merged { entries.sort { ($0.policy, $0.entry) < ($1.policy, $1.entry) } }
        ConflictGroups.naming(entries, node: node, pciAddress: pf.pciAddress, pfName: pf.name, into: &found)
    }

    /// externallyManaged must agree among the policies selecting a PF.
    private func appendManagedConflicts(
        node: String, pf: RenderPF, pfIndex k: Int, pfCount: Int, selects: [Bool],
        into found: inout [RenderConflict]
    ) {
        let selectors = policies.indices.filter { selects[$0 * pfCount + k] }.map {
            (policies[$0].name, policies[$0].externallyManaged)
        }
        ConflictGroups.externallyManaged(selectors, pciAddress: pf.pciAddress, pfName: pf.name, node: node, into: &found)
    }
}
