import SriovProto

extension Validation {
    /// Checks a node state: metadata.name; in the spec every interface's
    /// pciAddress, numVfs 0...``maxNumVfs``, mtu, linkType, eSwitchMode and
    /// VF groups (vfRange `first-last` inside 0...numVfs-1, deviceType,
    /// vdpaType, resourceName syntax); `system.rdmaMode`; in the status the
    /// PCI addresses of PFs and VFs and `syncStatus`.
    public static func validate(_ state: SriovV1.SriovNetworkNodeState) -> [FieldError] {
        var c = Checker(kind: CRCodec.Kind.nodeState, name: state.metadata.name)
        c.objectName(state.metadata.name, at: "metadata.name")
        c.namespace(state.metadata.namespace, at: "metadata.namespace")
        for (i, iface) in state.spec.interfaces.enumerated() {
            let p = "spec.interfaces[\(i)]"
            c.pciAddress(iface.pciAddress, at: "\(p).pciAddress")
            c.range(Int64(iface.numVfs), 0...Int64(maxNumVfs), at: "\(p).numVfs")
            if iface.mtu != 0 { c.range(Int64(iface.mtu), 1...Int64(maxMTU), at: "\(p).mtu") }
            c.oneOf(iface.linkType, linkTypes, at: "\(p).linkType")
            c.oneOf(iface.eSwitchMode, eSwitchModes, at: "\(p).eSwitchMode")
            for (j, group) in iface.vfGroups.enumerated() {
                let g = "\(p).vfGroups[\(j)]"
                if let range = Syntax.parseVFRange(group.vfRange) {
                    if range.upperBound >= Int(iface.numVfs) {
                        c.fail(
                            .invalid, "\(g).vfRange", Checker.quote(group.vfRange),
                            "the last VF index must be below numVfs \(iface.numVfs)")
                    }
                } else if !group.vfRange.isEmpty || iface.numVfs > 0 {
                    c.fail(
                        .invalid, "\(g).vfRange", Checker.quote(group.vfRange),
                        "must be first-last with two integers and first <= last, e.g. 0-3")
                }
                c.oneOf(group.deviceType, deviceTypes, at: "\(g).deviceType")
                c.oneOf(group.vdpaType, vdpaTypes, at: "\(g).vdpaType")
                c.resourceName(group.resourceName, at: "\(g).resourceName", required: false)
                if group.mtu != 0 { c.range(Int64(group.mtu), 1...Int64(maxMTU), at: "\(g).mtu") }
            }
        }
        c.oneOf(state.spec.system.rdmaMode, rdmaModes, at: "spec.system.rdmaMode")
        for (i, iface) in state.status.interfaces.enumerated() {
            let p = "status.interfaces[\(i)]"
            c.pciAddress(iface.pciAddress, at: "\(p).pciAddress")
            for (j, vf) in iface.vfs.enumerated() {
                c.pciAddress(vf.pciAddress, at: "\(p).Vfs[\(j)].pciAddress")
            }
        }
        c.oneOf(state.status.system.rdmaMode, rdmaModes, at: "status.system.rdmaMode")
        c.oneOf(state.status.syncStatus, syncStatuses, at: "status.syncStatus")
        return c.errors
    }
}
