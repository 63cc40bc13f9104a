import SriovProto

/// The pure part of apply: from a PF's desired spec and what discovery saw,
/// the sysfs steps that bring the PF closer to the spec. No I/O.
///
/// One call plans one round. A round that creates VFs or rebinds drivers is
/// not final: the VFs' addresses and netdev names are only known after the
/// kernel made them, so ``HostApplier`` rediscovers and plans again until a
/// round is empty. On a PF that already matches, the first round is empty:
/// that is what makes apply idempotent.
public enum HostPlanner {
    /// The `flags` written to bring a PF up: those of an Ethernet port that
    /// is up (IFF_UP | IFF_BROADCAST | IFF_MULTICAST).
    public static let upFlags = "0x1003"

    /// Largest VF count the Mellanox ConnectX firmware can be set to
    /// (`mlxconfig NUM_OF_VFS`); `sriov_totalvfs` shows what it is set to now.
    public static let mellanoxFirmwareMaxVfs: Int32 = 127

    /// The next round of steps for a PF the agent manages.
    ///
    /// - Throws: ``HostError`` when the spec cannot be applied to this PF
    ///   (more VFs than it supports, an unsupported feature, bad VF ranges).
    public static func plan(_ desired: SriovV1.Interface, observed: SriovV1.InterfaceExt?) throws(HostError) -> PFPlan {
        let pci = desired.pciAddress
        guard let pf = observed else {
            throw HostError(.notFound, pciAddress: pci, "no such SR-IOV PF on this node")
        }
        try validate(desired, pf)
        let groups = try vfGroups(desired)
        var steps: [HostStep] = []

        // The PF MTU is only raised, and before any VF MTU.
        if desired.mtu > pf.mtu, !pf.name.isEmpty {
            steps.append(.write(path: SysfsPath.netdev(pf.name, "mtu"), value: "\(desired.mtu)"))
        }
        if pf.numVfs != desired.numVfs || Int32(pf.vfs.count) != desired.numVfs {
            if pf.numVfs != 0 {
                steps.append(.write(path: SysfsPath.device(pci, "sriov_numvfs"), value: "0"))
            }
            if desired.numVfs > 0 {
                steps.append(.write(path: SysfsPath.device(pci, "sriov_numvfs"), value: "\(desired.numVfs)"))
            }
            steps.append(.awaitVirtualFunctions(pciAddress: pci, count: desired.numVfs))
            return PFPlan(pciAddress: pci, steps: steps, isFinal: false)
        }

        var isFinal = true
        var mtuSteps: [HostStep] = []
        for vf in pf.vfs {
            // VFs outside every group are left alone.
            guard let group = groups.first(where: { $0.range.contains(vf.vfID) }) else { continue }
            if group.deviceType == DeviceType.vfioPCI {
                if vf.driver != DeviceType.vfioPCI {
                    steps += bind(vf, override: DeviceType.vfioPCI)
                    isFinal = false
                }
            } else {
                if vf.driver == DeviceType.vfioPCI || vf.driver.isEmpty {
                    steps += bind(vf, override: DeviceType.clearOverride)
                    isFinal = false
                } else if group.mtu > 0, !vf.name.isEmpty, vf.mtu != group.mtu {
                    mtuSteps.append(.write(path: SysfsPath.netdev(vf.name, "mtu"), value: "\(group.mtu)"))
                }
            }
        }
        steps += mtuSteps
        if pf.linkAdminState != "up", !pf.name.isEmpty {
            steps.append(.write(path: SysfsPath.netdev(pf.name, "flags"), value: upFlags))
        }
        return PFPlan(pciAddress: pci, steps: steps, isFinal: isFinal)
    }

    /// Checks an externally managed PF: it must already have at least the
    /// VFs and MTU the spec asks for. Nothing is ever written to it.
    public static func check(externallyManaged desired: SriovV1.Interface, observed: SriovV1.InterfaceExt?) throws(HostError) {
        let pci = desired.pciAddress
        guard let pf = observed else {
            throw HostError(.notFound, pciAddress: pci, "no such SR-IOV PF on this node")
        }
        if pf.numVfs < desired.numVfs {
            throw HostError(.externallyManaged, pciAddress: pci,
                            "externally managed PF has \(pf.numVfs) VFs, the spec asks for \(desired.numVfs)\(policies(desired)); create them outside the operator")
        }
        if desired.mtu > 0, pf.mtu < desired.mtu {
            throw HostError(.externallyManaged, pciAddress: pci,
                            "externally managed PF has MTU \(pf.mtu), the spec asks for at least \(desired.mtu)\(policies(desired)); set it outside the operator")
        }
    }

    /// Steps that put a PF back as it was before the agent first touched
    /// it: no VFs, its original MTU.
    public static func reset(_ pf: SriovV1.InterfaceExt, to original: HostCheckpoint.OriginalState) -> PFPlan {
        var steps: [HostStep] = []
        if pf.numVfs != 0 || !pf.vfs.isEmpty {
            steps.append(.write(path: SysfsPath.device(pf.pciAddress, "sriov_numvfs"), value: "0"))
        }
        if original.mtu > 0, pf.mtu != original.mtu, !pf.name.isEmpty {
            steps.append(.write(path: SysfsPath.netdev(pf.name, "mtu"), value: "\(original.mtu)"))
        }
        return PFPlan(pciAddress: pf.pciAddress, steps: steps, isFinal: true)
    }

    /// driver_override, unbind from the current driver, drivers_probe.
    static func bind(_ vf: SriovV1.VirtualFunction, override: String) -> [HostStep] {
        var steps: [HostStep] = [.write(path: SysfsPath.device(vf.pciAddress, "driver_override"), value: override)]
        if !vf.driver.isEmpty {
            steps.append(.write(path: SysfsPath.driver(vf.driver, "unbind"), value: vf.pciAddress))
        }
        steps.append(.write(path: SysfsPath.driversProbe, value: vf.pciAddress))
        return steps
    }

    struct Group {
        var range: VFRange
        var deviceType: String
        var mtu: Int32
        var policy: String
    }

    /// The spec's VF groups, checked against numVfs and each other.
    static func vfGroups(_ desired: SriovV1.Interface) throws(HostError) -> [Group] {
        let pci = desired.pciAddress
        var groups: [Group] = []
        for (i, g) in desired.vfGroups.enumerated() {
            let name = g.policyName.isEmpty ? "vfGroups[\(i)]" : "policy \"\(g.policyName)\""
            guard let range = VFRange(parsing: g.vfRange) else {
                throw HostError(.invalidSpec, pciAddress: pci, "\(name): vfRange \"\(g.vfRange)\" is not \"first-last\" with 0 <= first <= last")
            }
            if range.last >= desired.numVfs {
                throw HostError(.invalidSpec, pciAddress: pci, "\(name): vfRange \(range) reaches beyond numVfs \(desired.numVfs) (VF indices are 0-\(desired.numVfs - 1))")
            }
            let type = g.deviceType.isEmpty ? DeviceType.netdevice : g.deviceType
            guard type == DeviceType.netdevice || type == DeviceType.vfioPCI else {
                throw HostError(.invalidSpec, pciAddress: pci, "\(name): deviceType \"\(g.deviceType)\" is not netdevice or vfio-pci")
            }
            if !g.vdpaType.isEmpty {
                throw HostError(.unsupported, pciAddress: pci, "\(name): vdpaType \"\(g.vdpaType)\" is not applied by this agent")
            }
            if let other = groups.first(where: { $0.range.overlaps(range) }) {
                throw HostError(.invalidSpec, pciAddress: pci, "\(name): vfRange \(range) overlaps \(other.policy)'s \(other.range)")
            }
            groups.append(Group(range: range, deviceType: type, mtu: g.mtu, policy: name))
        }
        return groups
    }

    /// Limits of the PF and features this agent does not apply.
    static func validate(_ desired: SriovV1.Interface, _ pf: SriovV1.InterfaceExt) throws(HostError) {
        let pci = desired.pciAddress
        if desired.numVfs < 0 {
            throw HostError(.invalidSpec, pciAddress: pci, "numVfs \(desired.numVfs) is negative")
        }
        if desired.numVfs > pf.totalvfs {
            if pf.vendor == "15b3" && desired.numVfs <= mellanoxFirmwareMaxVfs {
                throw HostError(.firmwareLimit, pciAddress: pci,
                                "numVfs \(desired.numVfs) exceeds sriov_totalvfs \(pf.totalvfs)\(policies(desired)): the ConnectX firmware is set to \(pf.totalvfs) VFs; an admin must run `mlxconfig -d \(pci) set SRIOV_EN=1 NUM_OF_VFS=\(desired.numVfs)` and reboot the node (the agent does not change firmware)")
            }
            throw HostError(.invalidSpec, pciAddress: pci, "numVfs \(desired.numVfs) exceeds sriov_totalvfs \(pf.totalvfs)\(policies(desired))")
        }
        if desired.eSwitchMode.lowercased() == "switchdev" {
            throw HostError(.unsupported, pciAddress: pci, "eSwitchMode switchdev\(policies(desired)) is not applied by this agent (legacy only)")
        }
        let want = desired.linkType.lowercased()
        let port = (Int(pci.split(separator: ".").last ?? "0") ?? 0) + 1
        if want == "ib" {
            if pf.linkType == "ETH" {
                throw HostError(.firmwareLimit, pciAddress: pci,
                                "linkType ib\(policies(desired)) but the port is Ethernet: an admin must run `mlxconfig -d \(pci) set LINK_TYPE_P\(port)=1` and reboot the node")
            }
            throw HostError(.unsupported, pciAddress: pci,
                            "linkType ib\(policies(desired)): InfiniBand VFs need GUIDs, which this agent does not assign")
        }
        if want == "eth" && pf.linkType == "IB" {
            throw HostError(.firmwareLimit, pciAddress: pci,
                            "linkType eth\(policies(desired)) but the port is InfiniBand: an admin must run `mlxconfig -d \(pci) set LINK_TYPE_P\(port)=2` and reboot the node")
        }
        if desired.numVfs > 0 {
            let pfMtu = max(pf.mtu, desired.mtu)
            for g in desired.vfGroups where g.mtu > pfMtu {
                throw HostError(.invalidSpec, pciAddress: pci,
                                "policy \"\(g.policyName)\": VF mtu \(g.mtu) is above the PF's MTU \(pfMtu); raise the PF's mtu as well")
            }
        }
    }

    /// ` (policy "a", "b")`, from the VF groups, for error messages.
    static func policies(_ desired: SriovV1.Interface) -> String {
        var names: [String] = []
        for g in desired.vfGroups where !g.policyName.isEmpty && !names.contains(g.policyName) { names.append(g.policyName) }
        if names.isEmpty { return "" }
        return " (policy " + names.map { "\"\($0)\"" }.joined(separator: ", ") + ")"
    }
}
