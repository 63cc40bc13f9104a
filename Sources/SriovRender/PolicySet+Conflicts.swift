import SriovProto

extension PolicySet {
    /// All conflicts on a node, sorted: those of
    /// ``ConflictDetector/conflicts(node:selecting:interfaces:applyErrors:)``,
    /// with the policy-only checks done once per set and the PF selection
    /// taken from the spec's render. `selects` is the policy × PF selection,
    /// row by policy.
    func conflicts(
        node: String, interfaces: [SriovV1.InterfaceExt], selects: [Bool],
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
        var naming: [(policy: String, entry: PFNameSelector?, raw: String)] = []
        for (k, pf) in interfaces.enumerated() {
            var firstSelector: CompiledPolicy?
            var managedMismatch = false
            for (i, policy) in policies.enumerated() {
                if selects[i * pfCount + k] {
                    if pf.totalvfs > 0 && policy.numVfs > pf.totalvfs {
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
                if anyPFNames {
                    for entry in policy.pfNames where CompiledPolicy.names(pf, entry.name) {
                        naming.append((policy.name, entry.parsed, entry.raw))
                    }
                }
            }
            if naming.count > 1 { appendNamingConflicts(naming, node: node, pf: pf, into: &found) }
            naming.removeAll(keepingCapacity: true)
            if managedMismatch {
                appendManagedConflicts(node: node, pf: pf, pfIndex: k, pfCount: pfCount, selects: selects, into: &found)
            }
        }
        if found.count > 1 { found.sort() }
        return found
    }

    /// Same PF named twice: two ranges that overlap, or two plain names.
    private func appendNamingConflicts(
        _ naming: [(policy: String, entry: PFNameSelector?, raw: String)], node: String,
        pf: SriovV1.InterfaceExt, into found: inout [RenderConflict]
    ) {
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
    }

    /// externallyManaged must agree among the policies selecting a PF.
    private func appendManagedConflicts(
        node: String, pf: SriovV1.InterfaceExt, pfIndex k: Int, pfCount: Int, selects: [Bool],
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
