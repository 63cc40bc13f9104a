/// Conflicts among many policies reported compactly: one conflict per
/// conflicting *group* (the policies naming a PF without a range, a cluster
/// of overlapping VF ranges, the policies sharing a resourceName or a
/// rootDevices entry, the policies selecting a PF), never one per pair, so
/// that N policies on one PF give one line rather than N² lines.
///
/// A group of exactly two keeps the pair's message; a larger one lists its
/// first ``listed`` members and says how many more there are. In a conflict,
/// `policy` is the group's member applied last and `otherPolicy` its first.
enum ConflictGroups {
    /// Members named in a group's message.
    static let listed = 5

    /// `"a" (x), "b" (y), "c" (z) and 4 more`.
    static func list(_ members: [(name: String, detail: String)]) -> String {
        let shown = members.prefix(listed).map { $0.detail.isEmpty ? "\"\($0.name)\"" : "\"\($0.name)\" (\($0.detail))" }
        var text = shown.count > 1 ? shown.dropLast().joined(separator: ", ") : shown.joined()
        if members.count > listed {
            text += ", \(shown.last!) and \(members.count - listed) more"
        } else if shown.count > 1 {
            text += " and \(shown.last!)"
        }
        return text
    }

    /// A pfNames entry naming a PF, with its policy's position in application
    /// order.
    struct NamingEntry {
        var policy: Int
        /// The entry's index in the policy's pfNames.
        var entry: Int
        var policyName: String
        var raw: String
        var bounds: (first: Int, last: Int)?
    }

    /// The pfNames conflicts on one PF: entries of two or more policies that
    /// name it without a range (``RenderConflict/Code/samePFName``), and each
    /// cluster of overlapping VF ranges holding entries of two or more
    /// policies (``RenderConflict/Code/vfRangeOverlap``).
    ///
    /// `entries` are the valid entries naming the PF, in policy order then
    /// entry order. Sorting the ranged entries by their first VF and sweeping
    /// once finds the clusters (a cluster with two policies always holds an
    /// overlap between them): O(M log M) for M entries.
    static func naming(
        _ entries: [NamingEntry], node: String, pciAddress: String, pfName: String, into found: inout [RenderConflict]
    ) {
        let whole = entries.filter { $0.bounds == nil }
        if Set(whole.map(\.policyName)).count > 1 {
            if whole.count == 2 {
                let (a, b) = (whole[0], whole[1])
                found.append(RenderConflict(
                    code: .samePFName, node: node, policy: b.policyName, otherPolicy: a.policyName,
                    pciAddress: pciAddress, pfName: pfName,
                    message: "policies \"\(a.policyName)\" (pfNames \"\(a.raw)\") and \"\(b.policyName)\" (pfNames \"\(b.raw)\") both select the whole PF; partition it with name#first-last ranges"))
            } else {
                found.append(RenderConflict(
                    code: .samePFName, node: node, policy: whole.last!.policyName, otherPolicy: whole[0].policyName,
                    pciAddress: pciAddress, pfName: pfName,
                    message: "\(whole.count) pfNames entries of \(Set(whole.map(\.policyName)).count) policies select the whole PF: \(list(whole.map { ($0.policyName, "pfNames \"\($0.raw)\"") })); partition it with name#first-last ranges"))
            }
        }

        var ranged = entries.indices.filter { entries[$0].bounds != nil }
        guard ranged.count > 1 else { return }
        // By first VF, then policy order, for a deterministic sweep.
        ranged.sort { (entries[$0].bounds!.first, $0) < (entries[$1].bounds!.first, $1) }
        var cluster: [Int] = []
        var clusterLast = Int.min
        func flush() {
            defer { cluster.removeAll(keepingCapacity: true) }
            guard cluster.count > 1 else { return }
            let members = cluster.sorted().map { entries[$0] }
            guard Set(members.map(\.policyName)).count > 1 else { return }
            if members.count == 2 {
                let (a, b) = (members[0], members[1])
                let (af, al) = a.bounds!
                let (bf, bl) = b.bounds!
                found.append(RenderConflict(
                    code: .vfRangeOverlap, node: node, policy: b.policyName, otherPolicy: a.policyName,
                    pciAddress: pciAddress, pfName: pfName,
                    message: "policies \"\(a.policyName)\" (pfNames \"\(a.raw)\") and \"\(b.policyName)\" (pfNames \"\(b.raw)\") assign overlapping VF ranges \(af)-\(al) and \(bf)-\(bl) on the same PF; give each policy a disjoint range"))
            } else {
                let first = members.map { $0.bounds!.first }.min()!
                let last = members.map { $0.bounds!.last }.max()!
                found.append(RenderConflict(
                    code: .vfRangeOverlap, node: node, policy: members.last!.policyName,
                    otherPolicy: members[0].policyName, pciAddress: pciAddress, pfName: pfName,
                    message: "\(members.count) pfNames entries of \(Set(members.map(\.policyName)).count) policies assign overlapping VF ranges within \(first)-\(last) on the same PF: \(list(members.map { ($0.policyName, "pfNames \"\($0.raw)\"") })); give each policy a disjoint range"))
            }
        }
        for index in ranged {
            let (first, last) = entries[index].bounds!
            if !cluster.isEmpty && first > clusterLast { flush() }
            if cluster.isEmpty { clusterLast = last } else { clusterLast = max(clusterLast, last) }
            cluster.append(index)
        }
        flush()
    }

    /// `"a", "b", "c" and 4 more`.
    static func names(_ names: [String]) -> String {
        list(names.map { ($0, "") })
    }

    /// Policies sharing a resourceName must agree on excludeTopology.
    /// `group` is in application order.
    static func excludeTopology(
        _ group: [(name: String, excludeTopology: Bool)], resource: String, node: String,
        into found: inout [RenderConflict]
    ) {
        guard group.count > 1, Set(group.map(\.excludeTopology)).count > 1 else { return }
        if group.count == 2 {
            let (a, b) = (group[0], group[1])
            found.append(RenderConflict(
                code: .excludeTopologyMismatch, node: node, policy: b.name, otherPolicy: a.name,
                message: "policies \"\(a.name)\" (excludeTopology \(a.excludeTopology)) and \"\(b.name)\" (excludeTopology \(b.excludeTopology)) share resourceName \"\(resource)\"; spec.excludeTopology must be the same for every policy of a resourceName"))
        } else {
            found.append(RenderConflict(
                code: .excludeTopologyMismatch, node: node, policy: group.last!.name, otherPolicy: group[0].name,
                message: "\(group.count) policies share resourceName \"\(resource)\" with different spec.excludeTopology: \(list(group.map { ($0.name, "excludeTopology \($0.excludeTopology)") })); spec.excludeTopology must be the same for every policy of a resourceName"))
        }
    }

    /// A rootDevices entry listed by more than one policy (`names`, in
    /// application order).
    static func duplicateRootDevice(
        _ names: [String], device: String, pfName: String?, node: String, into found: inout [RenderConflict]
    ) {
        guard names.count > 1 else { return }
        let message: String
        if names.count == 2 {
            message = "policies \"\(names[0])\" and \"\(names[1])\" both list \(device) in spec.nicSelector.rootDevices; a PF may be selected by rootDevices in one policy only (partition it with pfNames ranges instead)"
        } else {
            message = "\(names.count) policies list \(device) in spec.nicSelector.rootDevices: \(Self.names(names)); a PF may be selected by rootDevices in one policy only (partition it with pfNames ranges instead)"
        }
        found.append(RenderConflict(
            code: .duplicateRootDevice, node: node, policy: names.last!, otherPolicy: names[0],
            pciAddress: device, pfName: pfName, message: message))
    }

    /// The policies selecting a PF (`selectors`, in application order) must
    /// agree on externallyManaged.
    static func externallyManaged(
        _ selectors: [(name: String, externallyManaged: Bool)], pciAddress: String, pfName: String, node: String,
        into found: inout [RenderConflict]
    ) {
        guard selectors.count > 1, Set(selectors.map(\.externallyManaged)).count > 1 else { return }
        let message: String
        if selectors.count == 2 {
            let (a, b) = (selectors[0], selectors[1])
            message = "policies \"\(a.name)\" (externallyManaged \(a.externallyManaged)) and \"\(b.name)\" (externallyManaged \(b.externallyManaged)) select the same PF; spec.externallyManaged must agree"
        } else {
            message = "\(selectors.count) policies select the same PF with different spec.externallyManaged: \(list(selectors.map { ($0.name, "externallyManaged \($0.externallyManaged)") })); spec.externallyManaged must agree"
        }
        found.append(RenderConflict(
            code: .externallyManagedMismatch, node: node, policy: selectors.last!.name, otherPolicy: selectors[0].name,
            pciAddress: pciAddress, pfName: pfName, message: message))
    }
}
