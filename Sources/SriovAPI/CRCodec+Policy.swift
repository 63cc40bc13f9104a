import SriovProto

extension CRCodec {
    static let policySpecFields = [
        "resourceName", "nodeSelector", "priority", "mtu", "numVfs", "nicSelector", "deviceType", "isRdma",
        "needVhostNet", "linkType", "eSwitchMode", "vdpaType", "excludeTopology", "externallyManaged",
    ]
    static let nicSelectorFields = ["vendor", "deviceID", "rootDevices", "pfNames", "netFilter"]

    /// Decodes a `SriovNetworkNodePolicy` object. `path` prefixes every error
    /// path (e.g. `items[2]`). A policy has no status upstream; an empty
    /// `status: {}` is accepted and anything in it rejected.
    ///
    /// - Throws: ``FieldErrorList`` with every problem found.
    public static func decodePolicy(_ value: CRValue, path: String = "") throws -> SriovV1.SriovNetworkNodePolicy {
        var reader = FieldReader(kind: Kind.policy)
        var policy = SriovV1.SriovNetworkNodePolicy()
        let (spec, status) = readEnvelope(value, kind: Kind.policy, path: path, reader: &reader, meta: &policy.metadata)
        let specPath = FieldReader.join(path, "spec")
        for (key, v) in reader.members(spec, at: specPath, accepted: policySpecFields) {
            let p = FieldReader.join(specPath, key)
            switch key {
            case "resourceName": policy.spec.resourceName = reader.string(v, at: p)
            case "nodeSelector": policy.spec.nodeSelector = reader.stringMap(v, at: p)
            case "priority": policy.spec.priority = reader.int32(v, at: p)
            case "mtu": policy.spec.mtu = reader.int32(v, at: p) ?? 0
            case "numVfs": policy.spec.numVfs = reader.int32(v, at: p) ?? 0
            case "nicSelector":
                for (k, sv) in reader.members(v, at: p, accepted: nicSelectorFields) {
                    let sp = FieldReader.join(p, k)
                    switch k {
                    case "vendor": policy.spec.nicSelector.vendor = reader.string(sv, at: sp)
                    case "deviceID": policy.spec.nicSelector.deviceID = reader.string(sv, at: sp)
                    case "rootDevices": policy.spec.nicSelector.rootDevices = reader.stringList(sv, at: sp)
                    case "pfNames": policy.spec.nicSelector.pfNames = reader.stringList(sv, at: sp)
                    case "netFilter": policy.spec.nicSelector.netFilter = reader.string(sv, at: sp)
                    default: break
                    }
                }
            case "deviceType": policy.spec.deviceType = reader.string(v, at: p)
            case "isRdma": policy.spec.isRdma = reader.bool(v, at: p)
            case "needVhostNet": policy.spec.needVhostNet = reader.bool(v, at: p)
            case "linkType": policy.spec.linkType = reader.string(v, at: p)
            case "eSwitchMode": policy.spec.eSwitchMode = reader.string(v, at: p)
            case "vdpaType": policy.spec.vdpaType = reader.string(v, at: p)
            case "excludeTopology": policy.spec.excludeTopology = reader.bool(v, at: p)
            case "externallyManaged": policy.spec.externallyManaged = reader.bool(v, at: p)
            default: break
            }
        }
        _ = reader.members(status, at: FieldReader.join(path, "status"), accepted: [])
        if !reader.errors.isEmpty { throw FieldErrorList(reader.errors) }
        return policy
    }

    /// Encodes a policy: `apiVersion`, `kind`, `metadata` (non-empty fields
    /// only) and `spec` with upstream's `omitempty` rules (`resourceName`,
    /// `nodeSelector`, `numVfs` and `nicSelector` always; `priority` whenever
    /// it is set, 0 included; other fields when not zero).
    public static func encode(_ policy: SriovV1.SriovNetworkNodePolicy) -> CRValue {
        let s = policy.spec
        var nic = ObjectBuilder()
        nic.string("vendor", s.nicSelector.vendor)
        nic.string("deviceID", s.nicSelector.deviceID)
        nic.strings("rootDevices", s.nicSelector.rootDevices)
        nic.strings("pfNames", s.nicSelector.pfNames)
        nic.string("netFilter", s.nicSelector.netFilter)
        var b = ObjectBuilder()
        b.string("resourceName", s.resourceName, omitEmpty: false)
        b.map("nodeSelector", s.nodeSelector, omitEmpty: false)
        b.optionalInt("priority", s.priority)
        b.int("mtu", s.mtu)
        b.int("numVfs", s.numVfs, omitEmpty: false)
        b.set("nicSelector", nic.value)
        b.string("deviceType", s.deviceType)
        b.bool("isRdma", s.isRdma)
        b.bool("needVhostNet", s.needVhostNet)
        b.string("linkType", s.linkType)
        b.string("eSwitchMode", s.eSwitchMode)
        b.string("vdpaType", s.vdpaType)
        b.bool("excludeTopology", s.excludeTopology)
        b.bool("externallyManaged", s.externallyManaged)
        return envelope(kind: Kind.policy, meta: policy.metadata, spec: b.value, status: nil)
    }
}
