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

        for (resource, later, earlier) in excludeTopologyPairs {
            let (a, b) = (policies[earlier], policies[later])
            found.append(RenderConflict(
                code: .excludeTopologyMismatch, node: node, policy: b.name, otherPolicy: a.name,
                message: "policies \"\(a.name)\" (excludeTopology \(a.policy.spec.excludeTopology)) and \"\(b.name)\" (excludeTopology \(b.policy.spec.excludeTopology)) share resourceName \"\(resource)\"; spec.excludeTopology must be the same for every policy of a resourceName"))
        }

        for (device, names) in duplicateRootDevices {
            let name = pfName(at: device)
            for j in 1..<names.count {
                for i in 0..<j {
                    found.append(RenderConflict(
                        code: .duplicateRootDevice, node: node, policy: names[j], otherPolicy: names[i],
                        pciAddress: device, pfName: name,
                        message: "policies \"\(names[i])\" and \"\(names[j])\" both list \(device) in spec.nicSelector.rootDevices; a PF may be selected by rootDevices in one policy only (partition it with pfNames ranges instead)"))
                }
            }
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
            if !clashingNames.isEmpty
                && clashingNames.contains(where: { CompiledPolicy.names(interfaces[k], $0.0) && CompiledPolicy.names(interfaces[k], $0.1) }) {
                appendNamingConflicts(node: node, pf: interfaces[k], into: &found)
            }
            if managedMismatch {
                appendManagedConflicts(node: node, pf: interfaces[k], pfIndex: k, pfCount: pfCount, selects: selects, into: &found)
            }
        }
        if found.count > 1 { found.sort() }
        return found
    }

    /// Same PF named twice: two ranges that overlap, or two plain names.
    /// A pair of policies is reported once per PF.
    private func appendNamingConflicts(node: String, pf: RenderPF, into found: inout [RenderConflict]) {
        // The entries naming the PF by its name or an altName, in policy order.
        var naming: [(policy: Int, entry: Int)] = []
        for (i, policy) in policies.enumerated() {
            for (e, entry) in policy.pfNames.enumerated() where CompiledPolicy.names(pf, entry.name) {
                naming.append((i, e))
            }
        }
        var reportedPairs: [(String, String)] = []
        for j in naming.indices {
            for i in 0..<j where policies[naming[i].policy].name != policies[naming[j].policy].name {
                let (p, q) = (policies[naming[i].policy].name, policies[naming[j].policy].name)
                let a = policies[naming[i].policy].pfNames[naming[i].entry]
                let b = policies[naming[j].policy].pfNames[naming[j].entry]
                guard !reportedPairs.contains(where: { $0 == (p, q) }), a.isValid, b.isValid else { continue }
                if let (af, al) = a.bounds, let (bf, bl) = b.bounds {
                    guard af <= bl && bf <= al else { continue }
                    reportedPairs.append((p, q))
                    found.append(RenderConflict(
                        code: .vfRangeOverlap, node: node, policy: q, otherPolicy: p,
                        pciAddress: pf.pciAddress, pfName: pf.name,
                        message: "policies \"\(p)\" (pfNames \"\(a.raw)\") and \"\(q)\" (pfNames \"\(b.raw)\") assign overlapping VF ranges \(af)-\(al) and \(bf)-\(bl) on the same PF; give each policy a disjoint range"))
                } else if a.bounds == nil && b.bounds == nil {
                    reportedPairs.append((p, q))
                    found.append(RenderConflict(
                        code: .samePFName, node: node, policy: q, otherPolicy: p,
                        pciAddress: pf.pciAddress, pfName: pf.name,
                        message: "policies \"\(p)\" (pfNames \"\(a.raw)\") and \"\(q)\" (pfNames \"\(b.raw)\") both select the whole PF; partition it with name#first-last ranges"))
                }
            }
        }
    }

    /// externallyManaged must agree among the policies selecting a PF.
    private func appendManagedConflicts(
        node: String, pf: RenderPF, pfIndex k: Int, pfCount: Int, selects: [Bool],
        into found: inout [RenderConflict]
    ) {
        let selectors = policies.indices.filter { selects[$0 * pfCount + k] }.map { policies[$0] }
        for j in 1..<selectors.count {
            for i in 0..<j where selectors[i].externallyManaged != selectors[j].externallyManaged {
                found.append(RenderConflict(
                    code: .externallyManagedMismatch, node: node, policy: selectors[j].name, otherPolicy: selectors[i].name,
                    pciAddress: pf.pciAddress, pfName: pf.name,
                    message: "policies \"\(selectors[i].name)\" (externallyManaged \(selectors[i].externallyManaged)) and \"\(selectors[j].name)\" (externallyManaged \(selectors[j].externallyManaged)) select the same PF; spec.externallyManaged must agree"))
            }
        }
    }
}
