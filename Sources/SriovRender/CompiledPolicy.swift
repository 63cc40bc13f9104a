import SriovProto

/// A policy with everything rendering derives from it alone worked out once:
/// its pfNames entries parsed, its VF groups built, its rootDevices hashed.
///
/// Rendering a node asks the same questions of every policy for every PF
/// ("does the nicSelector select this PF?", "which VF group goes there?");
/// answering them from the policy's text each time (splitting `name#first-last`,
/// formatting ranges, copying the policy struct with all its strings) was most
/// of a node's render time. A `CompiledPolicy` is shared by reference between
/// every node and every policy set it appears in.
final class CompiledPolicy: Sendable {
    /// One pfNames entry.
    struct PFNamesEntry: Sendable {
        /// The entry as written.
        let raw: String
        /// The text before the first `#`, which PF selection compares.
        let name: String
        /// Whether the entry parses (its range, if any, is well formed).
        let isValid: Bool
        /// The VF range, when the entry has a well-formed one.
        let bounds: (first: Int, last: Int)?
    }

    /// The policy as given.
    let policy: SriovV1.SriovNetworkNodePolicy
    /// `metadata.name`.
    let name: String
    /// ``SriovV1/SriovNetworkNodePolicy/effectivePriority``.
    let priority: Int32
    /// An empty nicSelector selects nothing.
    let selectsNothing: Bool
    let vendor: String
    let deviceID: String
    let rootDevices: [String]
    /// `rootDevices` as a set when the list is long (past 8 entries a hash
    /// lookup is cheaper than comparing each).
    private let rootDeviceSet: Set<String>?
    let pfNames: [PFNamesEntry]
    /// The policy's netFilter, when set.
    let netFilter: String
    /// The netFilter parsed; nil when unset or unparseable (it then matches nothing).
    private let parsedNetFilter: NetFilter.KeyValue?
    let numVfs: Int32
    let externallyManaged: Bool
    /// The PF entry fields the policy sets (everything but pciAddress, name and
    /// the VF group).
    private let interfaceTemplate: SriovV1.Interface
    /// The VF group over `0-(numVfs-1)`, and its range parsed.
    private let fullRangeGroup: GroupWithRange
    /// Per pfNames entry, the VF group it gives a PF of that primary name; nil
    /// for a malformed entry.
    private let entryGroups: [GroupWithRange?]
    /// The index of the first malformed pfNames entry.
    private let firstMalformed: Int?

    init(_ policy: SriovV1.SriovNetworkNodePolicy) {
        self.policy = policy
        let p = policy.spec
        let s = p.nicSelector
        name = policy.name
        priority = policy.effectivePriority
        selectsNothing = s.isEmpty
        vendor = s.vendor
        deviceID = s.deviceID
        rootDevices = s.rootDevices
        rootDeviceSet = s.rootDevices.count > 8 ? Set(s.rootDevices) : nil
        pfNames = s.pfNames.map { raw in
            let parsed = PFNameSelector(raw)
            return PFNamesEntry(
                raw: raw, name: String(PFNameSelector.name(of: raw)), isValid: parsed != nil,
                bounds: parsed.flatMap { p in p.first.flatMap { f in p.last.map { (f, $0) } } })
        }
        netFilter = s.netFilter
        parsedNetFilter = s.netFilter.isEmpty ? nil : NetFilter.parse(s.netFilter)
        numVfs = p.numVfs
        externallyManaged = p.externallyManaged

        var template = SriovV1.Interface()
        template.mtu = p.mtu
        template.linkType = p.linkType
        template.eSwitchMode = p.eSwitchMode
        template.numVfs = p.numVfs
        template.externallyManaged = p.externallyManaged
        interfaceTemplate = template

        var group = SriovV1.VfGroup()
        group.resourceName = p.resourceName
        group.deviceType = p.deviceType
        group.policyName = policy.name
        group.mtu = p.mtu
        group.isRdma = p.isRdma
        group.vdpaType = p.vdpaType
        group.vfRange = VFRange.format(0, Int(p.numVfs) - 1)
        let full = GroupWithRange(group: group, range: VFRange.parseBounds(group.vfRange))
        fullRangeGroup = full
        entryGroups = pfNames.map { entry in
            guard entry.isValid else { return nil }
            guard let (first, last) = entry.bounds else { return full }
            var ranged = group
            ranged.vfRange = VFRange.format(first, last)
            return GroupWithRange(group: ranged, range: VFRange.parseBounds(ranged.vfRange))
        }
        firstMalformed = pfNames.firstIndex { !$0.isValid }
    }

    /// Whether the nicSelector selects a PF
    /// (``SriovV1/NicSelector/selects(_:)``).
    func selects(_ pf: RenderPF) -> Bool {
        if selectsNothing { return false }
        if !vendor.isEmpty && vendor != pf.vendor { return false }
        if !deviceID.isEmpty && deviceID != pf.deviceID { return false }
        if !rootDevices.isEmpty {
            if let rootDeviceSet {
                if !rootDeviceSet.contains(pf.pciAddress) { return false }
            } else if !rootDevices.contains(pf.pciAddress) {
                return false
            }
        }
        if !pfNames.isEmpty && !pfNames.contains(where: { Self.names(pf, $0.name) }) { return false }
        if !netFilter.isEmpty && !matchesNetFilter(pf.netFilter) { return false }
        return true
    }

    /// Whether a PF's reported netFilter matches the policy's (``NetFilter/matches(_:_:)``).
    func matchesNetFilter(_ value: String) -> Bool {
        guard let parsedNetFilter, let other = NetFilter.parse(value) else { return false }
        return parsedNetFilter == other
    }

    /// Whether `name` is the PF's name or one of its altNames.
    static func names(_ pf: RenderPF, _ name: String) -> Bool {
        pf.name == name || pf.altNames.contains(name)
    }

    /// The VF group the policy puts on a PF it selects
    /// (``NodeSpecRenderer/vfGroup(_:for:)``): that of the first pfNames
    /// entry naming the PF's primary name, looked for up to the first
    /// malformed entry, which stops the policy.
    func vfGroup(for pf: RenderPF) -> Result<GroupWithRange, NodeSpecRenderer.ApplyError> {
        let end = firstMalformed ?? pfNames.count
        if let index = pfNames[..<end].firstIndex(where: { $0.name == pf.name }) {
            return .success(entryGroups[index]!)
        }
        if let firstMalformed {
            return .failure(NodeSpecRenderer.ApplyError(
                policy: name, pfNamesEntry: pfNames[firstMalformed].raw, pciAddress: pf.pciAddress))
        }
        return .success(fullRangeGroup)
    }

    /// The PF entry the policy writes for a PF no earlier policy configured.
    func newInterface(for pf: RenderPF, group: GroupWithRange) -> SriovV1.Interface {
        var result = interfaceTemplate
        result.pciAddress = pf.pciAddress
        result.name = pf.name
        result.vfGroups = [group.group]
        return result
    }

    /// Writes the policy's entry over the one an earlier policy left for the
    /// PF, in place, as ``NodeSpecRenderer/merge(existing:into:equalPriority:)``
    /// does: the new group first, then each old group whose resourceName
    /// differs and whose range does not overlap; numVfs and mtu the max of old
    /// and new when the priorities are equal or an old group was kept, every
    /// other field the policy's.
    ///
    /// While a spec is built, each entry's groups are kept **last first** (the
    /// new group is appended rather than inserted at the front; the builder
    /// reverses them at the end), and `ranges` holds the parsed range of each
    /// group in the same order.
    func merge(
        intoReversed interface: inout SriovV1.Interface, ranges: inout [(Int, Int)?], pf: RenderPF,
        group: GroupWithRange, equalPriority: Bool
    ) {
        let (oldMtu, oldNumVfs) = (interface.mtu, interface.numVfs)
        // Keep, in order, the old groups that neither share the resourceName
        // nor overlap the new range.
        var kept = 0
        for i in interface.vfGroups.indices
        where interface.vfGroups[i].resourceName != group.group.resourceName && !VFRange.overlaps(ranges[i], group.range) {
            if kept != i {
                interface.vfGroups.swapAt(kept, i)
                ranges.swapAt(kept, i)
            }
            kept += 1
        }
        interface.vfGroups.removeLast(interface.vfGroups.count - kept)
        ranges.removeLast(ranges.count - kept)
        interface.vfGroups.append(group.group)
        ranges.append(group.range)
        interface.pciAddress = pf.pciAddress
        interface.name = pf.name
        interface.linkType = interfaceTemplate.linkType
        interface.eSwitchMode = interfaceTemplate.eSwitchMode
        interface.externallyManaged = interfaceTemplate.externallyManaged
        interface.mtu = interfaceTemplate.mtu
        interface.numVfs = interfaceTemplate.numVfs
        if equalPriority || kept > 0 {
            interface.mtu = max(interfaceTemplate.mtu, oldMtu)
            interface.numVfs = max(interfaceTemplate.numVfs, oldNumVfs)
        }
    }
}

/// A VF group and its `vfRange` parsed (nil when malformed).
struct GroupWithRange: Sendable {
    let group: SriovV1.VfGroup
    let range: (Int, Int)?
}

/// The PF fields rendering reads, taken out of the reported `InterfaceExt`:
/// selection reads name, altNames, pciAddress, vendor, deviceID and netFilter,
/// conflicts read totalvfs. MACs, MTUs, link state, current numVfs and the VF
/// list change no output. A class, so that the many reads of a render pass
/// one reference instead of seven fields.
final class RenderPF: Sendable, Hashable {
    let name: String
    let altNames: [String]
    let pciAddress: String
    let vendor: String
    let deviceID: String
    let netFilter: String
    let totalvfs: Int32

    init(_ pf: SriovV1.InterfaceExt) {
        name = pf.name
        altNames = pf.altNames
        pciAddress = pf.pciAddress
        vendor = pf.vendor
        deviceID = pf.deviceID
        netFilter = pf.netFilter
        totalvfs = pf.totalvfs
    }

    static func == (a: RenderPF, b: RenderPF) -> Bool {
        a === b || (a.name == b.name && a.altNames == b.altNames && a.pciAddress == b.pciAddress
            && a.vendor == b.vendor && a.deviceID == b.deviceID && a.netFilter == b.netFilter
            && a.totalvfs == b.totalvfs)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(altNames)
        hasher.combine(pciAddress)
        hasher.combine(vendor)
        hasher.combine(deviceID)
        hasher.combine(netFilter)
        hasher.combine(totalvfs)
    }
}
