import SriovProto

extension SriovV1.SriovNetworkNodePolicy {
    /// The priority used for ordering: `spec.priority`, or 99 when absent.
    ///
    /// Policies reaching the renderer are defaulted by the API layer, which sets
    /// 99 as the upstream operator's mutating webhook does; the renderer treats
    /// a missing priority as 99 too, so an undefaulted policy orders the same.
    /// A lower number wins (0 is the highest precedence).
    public var effectivePriority: Int32 { spec.priority ?? 99 }

    /// The policy's name (`metadata.name`).
    public var name: String { metadata.name }

    /// Whether the policy selects a node with these labels: every
    /// `nodeSelector` key=value pair is among them (`{}` selects every node).
    public func selectsNode(labels: [String: String]) -> Bool {
        for (key, value) in spec.nodeSelector where labels[key] != value {
            return false
        }
        return true
    }

    /// Whether the policy orders before `other` when applied: priority
    /// descending (99 first), then name ascending. The last applied wins.
    public func appliesBefore(_ other: Self) -> Bool {
        let (a, b) = (effectivePriority, other.effectivePriority)
        if a != b { return a > b }
        return name < other.name
    }
}

extension SriovV1.NicSelector {
    /// True when no field is set; an empty selector selects nothing.
    public var isEmpty: Bool {
        vendor.isEmpty && deviceID.isEmpty && rootDevices.isEmpty && pfNames.isEmpty && netFilter.isEmpty
    }

    /// Whether the selector selects a PF: every set field matches (vendor and
    /// deviceID equal, pciAddress among rootDevices, the interface name or one
    /// of its altNames among the pfNames with their `#range` removed, the
    /// netFilter matching). An empty selector selects nothing.
    public func selects(_ pf: SriovV1.InterfaceExt) -> Bool {
        if isEmpty { return false }
        if !vendor.isEmpty && vendor != pf.vendor { return false }
        if !deviceID.isEmpty && deviceID != pf.deviceID { return false }
        if !rootDevices.isEmpty && !rootDevices.contains(pf.pciAddress) { return false }
        if !pfNames.isEmpty && !pfNames.contains(where: { names(pf, PFNameSelector.name(of: $0)) }) {
            return false
        }
        if !netFilter.isEmpty && !NetFilter.matches(netFilter, pf.netFilter) { return false }
        return true
    }

    /// The pfNames entries that name this PF by its name or an altName.
    func entriesNaming(_ pf: SriovV1.InterfaceExt) -> [String] {
        pfNames.filter { names(pf, PFNameSelector.name(of: $0)) }
    }

    private func names(_ pf: SriovV1.InterfaceExt, _ name: Substring) -> Bool {
        pf.name == name || pf.altNames.contains { $0 == name }
    }
}
