import SriovProto

extension Validation {
    /// Checks a policy: metadata.name; resourceName; numVfs 1...``maxNumVfs``
    /// (0 rejected as upstream's webhook does); mtu 0 (unset) or
    /// 1...``maxMTU``; priority 0...99; deviceType, linkType, eSwitchMode and
    /// vdpaType enums; a non-empty nicSelector whose vendor/deviceID are four
    /// lowercase hex digits, rootDevices PCI addresses, pfNames `name` or
    /// `name#first-last` with last < numVfs, netFilter syntax and not
    /// combined with other selectors, eSwitchMode or a non-eth linkType;
    /// vfio-pci with isRdma, switchdev with a non-eth linkType, and vdpaType
    /// without netdevice + switchdev are rejected.
    public static func validate(_ policy: SriovV1.SriovNetworkNodePolicy) -> [FieldError] {
        var c = Checker(kind: CRCodec.Kind.policy, name: policy.metadata.name)
        let s = policy.spec
        let nic = s.nicSelector
        c.objectName(policy.metadata.name, at: "metadata.name")
        c.namespace(policy.metadata.namespace, at: "metadata.namespace")
        c.resourceName(s.resourceName, at: "spec.resourceName")
        if s.numVfs < 1 || s.numVfs > maxNumVfs {
            c.fail(
                .invalid, "spec.numVfs", String(s.numVfs),
                "accepted: 1...\(maxNumVfs) (0 VFs is not allowed; delete the policy instead)")
        }
        if s.mtu != 0 { c.range(Int64(s.mtu), 1...Int64(maxMTU), at: "spec.mtu", note: " (0 or absent keeps the PF's MTU)") }
        if let priority = s.priority { c.range(Int64(priority), 0...99, at: "spec.priority", note: " (0 is the highest)") }
        c.oneOf(s.deviceType, deviceTypes, at: "spec.deviceType")
        c.oneOf(s.linkType, linkTypes, at: "spec.linkType")
        c.oneOf(s.eSwitchMode, eSwitchModes, at: "spec.eSwitchMode")
        c.oneOf(s.vdpaType, vdpaTypes, at: "spec.vdpaType")

        if nic.vendor.isEmpty && nic.deviceID.isEmpty && nic.rootDevices.isEmpty && nic.pfNames.isEmpty
            && nic.netFilter.isEmpty
        {
            c.fail(
                .required, "spec.nicSelector", nil,
                "at least one of vendor, deviceID, rootDevices, pfNames or netFilter must be set")
        }
        if !nic.vendor.isEmpty && !Syntax.isHexID(nic.vendor) {
            c.fail(.invalid, "spec.nicSelector.vendor", Checker.quote(nic.vendor), "must be 4 lowercase hex digits, e.g. 8086")
        }
        if !nic.deviceID.isEmpty && !Syntax.isHexID(nic.deviceID) {
            c.fail(
                .invalid, "spec.nicSelector.deviceID", Checker.quote(nic.deviceID), "must be 4 lowercase hex digits, e.g. 1583")
        }
        for (i, root) in nic.rootDevices.enumerated() {
            c.pciAddress(root, at: "spec.nicSelector.rootDevices[\(i)]")
        }
        for (i, entry) in nic.pfNames.enumerated() {
            let path = "spec.nicSelector.pfNames[\(i)]"
            do {
                let selector = try PfNameSelector.parse(entry)
                if let range = selector.range, range.upperBound >= Int(s.numVfs) {
                    c.fail(
                        .invalid, path, Checker.quote(entry),
                        "the last VF index \(range.upperBound) must be below numVfs \(s.numVfs)")
                }
            } catch {
                c.fail(.invalid, path, Checker.quote(entry), error.reason)
            }
        }
        if !nic.netFilter.isEmpty {
            if let problem = Syntax.netFilterProblem(nic.netFilter) {
                c.fail(.invalid, "spec.nicSelector.netFilter", Checker.quote(nic.netFilter), problem)
            }
            var others: [String] = []
            if !nic.vendor.isEmpty { others.append("nicSelector.vendor") }
            if !nic.deviceID.isEmpty { others.append("nicSelector.deviceID") }
            if !nic.pfNames.isEmpty { others.append("nicSelector.pfNames") }
            if !nic.rootDevices.isEmpty { others.append("nicSelector.rootDevices") }
            if !s.eSwitchMode.isEmpty { others.append("eSwitchMode") }
            if !others.isEmpty {
                c.fail(
                    .forbidden, "spec.nicSelector.netFilter", Checker.quote(nic.netFilter),
                    "cannot be combined with \(others.joined(separator: ", "))")
            }
            if !s.linkType.isEmpty && s.linkType.lowercased() != "eth" {
                c.fail(
                    .forbidden, "spec.linkType", Checker.quote(s.linkType),
                    "a netFilter policy accepts only linkType eth (or none)")
            }
        }
        if s.deviceType == "vfio-pci" && s.isRdma {
            c.fail(.forbidden, "spec.isRdma", "true", "RDMA cannot be enabled with deviceType vfio-pci")
        }
        if s.eSwitchMode == "switchdev" && !s.linkType.isEmpty && s.linkType.lowercased() != "eth" {
            c.fail(.forbidden, "spec.eSwitchMode", Checker.quote(s.eSwitchMode), "switchdev requires linkType eth")
        }
        if !s.vdpaType.isEmpty {
            if !(s.deviceType.isEmpty || s.deviceType == "netdevice") {
                c.fail(
                    .forbidden, "spec.vdpaType", Checker.quote(s.vdpaType),
                    "vdpaType requires deviceType netdevice, not \(s.deviceType)")
            }
            if s.eSwitchMode != "switchdev" {
                c.fail(.forbidden, "spec.vdpaType", Checker.quote(s.vdpaType), "vdpaType requires eSwitchMode switchdev")
            }
        }
        return c.errors
    }
}
