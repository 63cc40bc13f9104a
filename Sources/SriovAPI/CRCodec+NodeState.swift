import SriovProto

extension CRCodec {
    static let nodeStateSpecFields = ["interfaces", "system"]
    static let specInterfaceFields = [
        "pciAddress", "numVfs", "mtu", "name", "linkType", "eSwitchMode", "externallyManaged", "vfGroups",
        "deviceType",
    ]
    static let vfGroupFields = ["resourceName", "deviceType", "vfRange", "policyName", "mtu", "isRdma", "vdpaType"]
    static let systemFields = ["rdmaMode"]
    static let nodeStateStatusFields = ["interfaces", "system", "syncStatus", "lastSyncError", "observedGeneration"]
    static let statusInterfaceFields = [
        "name", "mac", "driver", "pciAddress", "vendor", "deviceID", "netFilter", "mtu", "numVfs", "linkSpeed",
        "linkType", "linkAdminState", "eSwitchMode", "externallyManaged", "totalvfs", "altNames", "Vfs", "maxVfs",
    ]
    static let virtualFunctionFields = [
        "name", "mac", "assigned", "driver", "pciAddress", "vendor", "deviceID", "Vlan", "mtu", "vfID", "vdpaType",
        "representorName", "guid",
    ]

    /// Decodes a `SriovNetworkNodeState` object, accepting the 2019 aliases
    /// `maxVfs` (for `totalvfs`) and an interface-level `deviceType`.
    ///
    /// - Throws: ``FieldErrorList`` with every problem found.
    public static func decodeNodeState(_ value: CRValue, path: String = "") throws -> SriovV1.SriovNetworkNodeState {
        var reader = FieldReader(kind: Kind.nodeState)
        var state = SriovV1.SriovNetworkNodeState()
        let (spec, status) = readEnvelope(value, kind: Kind.nodeState, path: path, reader: &reader, meta: &state.metadata)
        let specPath = FieldReader.join(path, "spec")
        for (key, v) in reader.members(spec, at: specPath, accepted: nodeStateSpecFields) {
            let p = FieldReader.join(specPath, key)
            switch key {
            case "interfaces":
                for (i, item) in reader.list(v, at: p).enumerated() {
                    state.spec.interfaces.append(readSpecInterface(item, path: "\(p)[\(i)]", reader: &reader))
                }
            case "system": state.spec.system = readSystem(v, path: p, reader: &reader)
            default: break
            }
        }
        let statusPath = FieldReader.join(path, "status")
        for (key, v) in reader.members(status, at: statusPath, accepted: nodeStateStatusFields) {
            let p = FieldReader.join(statusPath, key)
            switch key {
            case "interfaces":
                for (i, item) in reader.list(v, at: p).enumerated() {
                    state.status.interfaces.append(readStatusInterface(item, path: "\(p)[\(i)]", reader: &reader))
                }
            case "system": state.status.system = readSystem(v, path: p, reader: &reader)
            case "syncStatus": state.status.syncStatus = reader.string(v, at: p)
            case "lastSyncError": state.status.lastSyncError = reader.string(v, at: p)
            case "observedGeneration":
                state.status.observedGeneration = reader.int64(v, at: p, range: Int64.min...Int64.max) ?? 0
            default: break
            }
        }
        if !reader.errors.isEmpty { throw FieldErrorList(reader.errors) }
        return state
    }

    static func readSystem(_ value: CRValue, path: String, reader: inout FieldReader) -> SriovV1.System {
        var system = SriovV1.System()
        for (key, v) in reader.members(value, at: path, accepted: systemFields) where key == "rdmaMode" {
            system.rdmaMode = reader.string(v, at: FieldReader.join(path, key))
        }
        return system
    }

    static func readSpecInterface(_ value: CRValue, path: String, reader: inout FieldReader) -> SriovV1.Interface {
        var iface = SriovV1.Interface()
        var legacyDeviceType: String?
        for (key, v) in reader.members(value, at: path, accepted: specInterfaceFields) {
            let p = FieldReader.join(path, key)
            switch key {
            case "pciAddress": iface.pciAddress = reader.string(v, at: p)
            case "numVfs": iface.numVfs = reader.int32(v, at: p) ?? 0
            case "mtu": iface.mtu = reader.int32(v, at: p) ?? 0
            case "name": iface.name = reader.string(v, at: p)
            case "linkType": iface.linkType = reader.string(v, at: p)
            case "eSwitchMode": iface.eSwitchMode = reader.string(v, at: p)
            case "externallyManaged": iface.externallyManaged = reader.bool(v, at: p)
            case "deviceType": legacyDeviceType = reader.string(v, at: p)
            case "vfGroups":
                for (i, item) in reader.list(v, at: p).enumerated() {
                    iface.vfGroups.append(readVfGroup(item, path: "\(p)[\(i)]", reader: &reader))
                }
            default: break
            }
        }
        if let legacyDeviceType {
            if iface.vfGroups.isEmpty {
                // The 2019 shape: one device type for every VF of the PF.
                var group = SriovV1.VfGroup()
                group.deviceType = legacyDeviceType
                if iface.numVfs > 0 { group.vfRange = "0-\(iface.numVfs - 1)" }
                iface.vfGroups = [group]
            } else {
                reader.fail(
                    .forbidden, FieldReader.join(path, "deviceType"), value: FieldReader.quote(legacyDeviceType),
                    "the interface-level deviceType (2019 form) cannot be combined with vfGroups; set vfGroups[].deviceType")
            }
        }
        return iface
    }

    static func readVfGroup(_ value: CRValue, path: String, reader: inout FieldReader) -> SriovV1.VfGroup {
        var g = SriovV1.VfGroup()
        for (key, v) in reader.members(value, at: path, accepted: vfGroupFields) {
            let p = FieldReader.join(path, key)
            switch key {
            case "resourceName": g.resourceName = reader.string(v, at: p)
            case "deviceType": g.deviceType = reader.string(v, at: p)
            case "vfRange": g.vfRange = reader.string(v, at: p)
            case "policyName": g.policyName = reader.string(v, at: p)
            case "mtu": g.mtu = reader.int32(v, at: p) ?? 0
            case "isRdma": g.isRdma = reader.bool(v, at: p)
            case "vdpaType": g.vdpaType = reader.string(v, at: p)
            default: break
            }
        }
        return g
    }

    static func readStatusInterface(_ value: CRValue, path: String, reader: inout FieldReader) -> SriovV1.InterfaceExt {
        var x = SriovV1.InterfaceExt()
        var sawTotal = false
        var legacyMax: Int32?
        for (key, v) in reader.members(value, at: path, accepted: statusInterfaceFields) {
            let p = FieldReader.join(path, key)
            switch key {
            case "name": x.name = reader.string(v, at: p)
            case "mac": x.mac = reader.string(v, at: p)
            case "driver": x.driver = reader.string(v, at: p)
            case "pciAddress": x.pciAddress = reader.string(v, at: p)
            case "vendor": x.vendor = reader.string(v, at: p)
            case "deviceID": x.deviceID = reader.string(v, at: p)
            case "netFilter": x.netFilter = reader.string(v, at: p)
            case "mtu": x.mtu = reader.int32(v, at: p) ?? 0
            case "numVfs": x.numVfs = reader.int32(v, at: p) ?? 0
            case "linkSpeed": x.linkSpeed = reader.string(v, at: p)
            case "linkType": x.linkType = reader.string(v, at: p)
            case "linkAdminState": x.linkAdminState = reader.string(v, at: p)
            case "eSwitchMode": x.eSwitchMode = reader.string(v, at: p)
            case "externallyManaged": x.externallyManaged = reader.bool(v, at: p)
            case "totalvfs":
                sawTotal = true
                x.totalvfs = reader.int32(v, at: p) ?? 0
            case "maxVfs": legacyMax = reader.int32(v, at: p) ?? 0
            case "altNames": x.altNames = reader.stringList(v, at: p)
            case "Vfs":
                for (i, item) in reader.list(v, at: p).enumerated() {
                    x.vfs.append(readVirtualFunction(item, path: "\(p)[\(i)]", reader: &reader))
                }
            default: break
            }
        }
        if let legacyMax {
            if sawTotal {
                reader.fail(
                    .forbidden, FieldReader.join(path, "maxVfs"), value: String(legacyMax),
                    "maxVfs (2019 name) and totalvfs both set; keep only totalvfs")
            } else {
                x.totalvfs = legacyMax
            }
        }
        return x
    }

    static func readVirtualFunction(_ value: CRValue, path: String, reader: inout FieldReader) -> SriovV1.VirtualFunction {
        var vf = SriovV1.VirtualFunction()
        for (key, v) in reader.members(value, at: path, accepted: virtualFunctionFields) {
            let p = FieldReader.join(path, key)
            switch key {
            case "name": vf.name = reader.string(v, at: p)
            case "mac": vf.mac = reader.string(v, at: p)
            case "assigned": vf.assigned = reader.string(v, at: p)
            case "driver": vf.driver = reader.string(v, at: p)
            case "pciAddress": vf.pciAddress = reader.string(v, at: p)
            case "vendor": vf.vendor = reader.string(v, at: p)
            case "deviceID": vf.deviceID = reader.string(v, at: p)
            case "Vlan": vf.vlan = reader.int32(v, at: p) ?? 0
            case "mtu": vf.mtu = reader.int32(v, at: p) ?? 0
            case "vfID": vf.vfID = reader.int32(v, at: p) ?? 0
            case "vdpaType": vf.vdpaType = reader.string(v, at: p)
            case "representorName": vf.representorName = reader.string(v, at: p)
            case "guid": vf.guid = reader.string(v, at: p)
            default: break
            }
        }
        return vf
    }

    /// Encodes a node state with upstream's field names and `omitempty`
    /// rules (`pciAddress` and `vfID` always written; `Vfs` and `Vlan` with a
    /// capital V). The 2019 aliases are never written.
    public static func encode(_ state: SriovV1.SriovNetworkNodeState) -> CRValue {
        var spec = ObjectBuilder()
        spec.nested("interfaces", .array(state.spec.interfaces.map(encodeSpecInterface)))
        spec.nested("system", encodeSystem(state.spec.system))
        var status = ObjectBuilder()
        status.nested("interfaces", .array(state.status.interfaces.map(encodeStatusInterface)))
        status.nested("system", encodeSystem(state.status.system))
        status.string("syncStatus", state.status.syncStatus)
        status.string("lastSyncError", state.status.lastSyncError)
        status.int("observedGeneration", state.status.observedGeneration)
        return envelope(kind: Kind.nodeState, meta: state.metadata, spec: spec.value, status: status.value)
    }

    static func encodeSystem(_ system: SriovV1.System) -> CRValue {
        var b = ObjectBuilder()
        b.string("rdmaMode", system.rdmaMode)
        return b.value
    }

    static func encodeSpecInterface(_ i: SriovV1.Interface) -> CRValue {
        var b = ObjectBuilder()
        b.string("pciAddress", i.pciAddress, omitEmpty: false)
        b.int("numVfs", i.numVfs)
        b.int("mtu", i.mtu)
        b.string("name", i.name)
        b.string("linkType", i.linkType)
        b.string("eSwitchMode", i.eSwitchMode)
        b.bool("externallyManaged", i.externallyManaged)
        b.nested("vfGroups", .array(i.vfGroups.map(encodeVfGroup)))
        return b.value
    }

    static func encodeVfGroup(_ g: SriovV1.VfGroup) -> CRValue {
        var b = ObjectBuilder()
        b.string("resourceName", g.resourceName)
        b.string("deviceType", g.deviceType)
        b.string("vfRange", g.vfRange)
        b.string("policyName", g.policyName)
        b.int("mtu", g.mtu)
        b.bool("isRdma", g.isRdma)
        b.string("vdpaType", g.vdpaType)
        return b.value
    }

    static func encodeStatusInterface(_ x: SriovV1.InterfaceExt) -> CRValue {
        var b = ObjectBuilder()
        b.string("name", x.name)
        b.string("mac", x.mac)
        b.string("driver", x.driver)
        b.string("pciAddress", x.pciAddress, omitEmpty: false)
        b.string("vendor", x.vendor)
        b.string("deviceID", x.deviceID)
        b.string("netFilter", x.netFilter)
        b.int("mtu", x.mtu)
        b.int("numVfs", x.numVfs)
        b.string("linkSpeed", x.linkSpeed)
        b.string("linkType", x.linkType)
        b.string("linkAdminState", x.linkAdminState)
        b.string("eSwitchMode", x.eSwitchMode)
        b.bool("externallyManaged", x.externallyManaged)
        b.int("totalvfs", x.totalvfs)
        b.strings("altNames", x.altNames)
        b.nested("Vfs", .array(x.vfs.map(encodeVirtualFunction)))
        return b.value
    }

    static func encodeVirtualFunction(_ vf: SriovV1.VirtualFunction) -> CRValue {
        var b = ObjectBuilder()
        b.string("name", vf.name)
        b.string("mac", vf.mac)
        b.string("assigned", vf.assigned)
        b.string("driver", vf.driver)
        b.string("pciAddress", vf.pciAddress, omitEmpty: false)
        b.string("vendor", vf.vendor)
        b.string("deviceID", vf.deviceID)
        b.int("Vlan", vf.vlan)
        b.int("mtu", vf.mtu)
        b.int("vfID", vf.vfID, omitEmpty: false)
        b.string("vdpaType", vf.vdpaType)
        b.string("representorName", vf.representorName)
        b.string("guid", vf.guid)
        return b.value
    }
}
