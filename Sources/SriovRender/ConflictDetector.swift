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
        for (resource, group) in byResource where group.count > 1 {
            for j in 1..<group.count {
                for i in 0..<j where group[i].spec.excludeTopology != group[j].spec.excludeTopology {
                    found.append(RenderConflict(
                        code: .excludeTopologyMismatch, node: node, policy: group[j].name, otherPolicy: group[i].name,
                        message: "policies \"\(group[i].name)\" (excludeTopology \(group[i].spec.excludeTopology)) and \"\(group[j].name)\" (excludeTopology \(group[j].spec.excludeTopology)) share resourceName \"\(resource)\"; spec.excludeTopology must be the same for every policy of a resourceName"))
                }
            }
        }

        // Identical rootDevices entries.
        var byRootDevice: [String: [String]] = [:]
        for policy in selecting {
            for device in Set(policy.spec.nicSelector.rootDevices) { byRootDevice[device, default: []].append(policy.name) }
        }
        for (device, names) in byRootDevice where names.count > 1 {
            let pf = interfaces.first { $0.pciAddress == device }
            for j in 1..<names.count {
                for i in 0..<j {
                    found.append(RenderConflict(
                        code: .duplicateRootDevice, node: node, policy: names[j], otherPolicy: names[i],
                        pciAddress: device, pfName: pf?.name,
                        message: "policies \"\(names[i])\" and \"\(names[j])\" both list \(device) in spec.nicSelector.rootDevices; a PF may be selected by rootDevices in one policy only (partition it with pfNames ranges instead)"))
                }
            }
        }

        for pf in interfaces {
            var selectors: [SriovV1.SriovNetworkNodePolicy] = []
            var naming: [(policy: String, entry: PFNameSelector?, raw: String)] = []
            for policy in selecting {
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
                if !nic.pfNames.isEmpty {
                    for raw in nic.entriesNaming(pf) {
                        naming.append((policy.name, PFNameSelector(raw), raw))
                    }
                }
            }
            // Same PF named twice: two ranges that overlap, or two plain names.
            var reportedPairs = Set<[String]>()
            for j in naming.indices {
                for i in 0..<j where naming[i].policy != naming[j].policy {
                    let pair = [naming[i].policy, naming[j].policy]
                    guard !reportedPairs.contains(pair),
                          let a = naming[i].entry, let b = naming[j].entry else { continue }
                    if let af = a.first, let al = a.last, let bf = b.first, let bl = b.last {
                        guard af <= bl && bf <= al else { continue }
                        reportedPairs.insert(pair)
                        found.append(RenderConflict(
                            code: .vfRangeOverlap, node: node, policy: naming[j].policy, otherPolicy: naming[i].policy,
                            pciAddress: pf.pciAddress, pfName: pf.name,
                            message: "policies \"\(naming[i].policy)\" (pfNames \"\(naming[i].raw)\") and \"\(naming[j].policy)\" (pfNames \"\(naming[j].raw)\") assign overlapping VF ranges \(af)-\(al) and \(bf)-\(bl) on the same PF; give each policy a disjoint range"))
                    } else if !a.hasRange && !b.hasRange {
                        reportedPairs.insert(pair)
                        found.append(RenderConflict(
                            code: .samePFName, node: node, policy: naming[j].policy, otherPolicy: naming[i].policy,
                            pciAddress: pf.pciAddress, pfName: pf.name,
                            message: "policies \"\(naming[i].policy)\" (pfNames \"\(naming[i].raw)\") and \"\(naming[j].policy)\" (pfNames \"\(naming[j].raw)\") both select the whole PF; partition it with name#first-last ranges"))
                    }
                }
            }
            // externallyManaged must agree on a PF.
            if selectors.count > 1 {
                for j in 1..<selectors.count {
                    for i in 0..<j where selectors[i].spec.externallyManaged != selectors[j].spec.externallyManaged {
                        found.append(RenderConflict(
                            code: .externallyManagedMismatch, node: node, policy: selectors[j].name, otherPolicy: selectors[i].name,
                            pciAddress: pf.pciAddress, pfName: pf.name,
                            message: "policies \"\(selectors[i].name)\" (externallyManaged \(selectors[i].spec.externallyManaged)) and \"\(selectors[j].name)\" (externallyManaged \(selectors[j].spec.externallyManaged)) select the same PF; spec.externallyManaged must agree"))
                    }
                }
            }
        }
        return found.sorted()
    }
}
