import SriovProto

extension CRCodec {
    static let networkSpecFields = [
        "networkNamespace", "resourceName", "capabilities", "ipam", "vlan", "vlanQoS", "vlanProto", "spoofChk",
        "trust", "linkState", "minTxRate", "maxTxRate", "metaPlugins", "logLevel", "logFile",
    ]
    static let networkStatusFields = ["conditions"]
    static let conditionFields = ["type", "status", "reason", "message", "lastTransitionTime", "observedGeneration"]

    /// Decodes a `SriovNetwork` object. `ipam`, `capabilities` and
    /// `metaPlugins` are strings holding JSON (usually YAML block scalars);
    /// their JSON is checked by ``Validation``, not here.
    ///
    /// - Throws: ``FieldErrorList`` with every problem found.
    public static func decodeNetwork(_ value: CRValue, path: String = "") throws -> SriovV1.SriovNetwork {
        var reader = FieldReader(kind: Kind.network)
        var network = SriovV1.SriovNetwork()
        let (spec, status) = readEnvelope(value, kind: Kind.network, path: path, reader: &reader, meta: &network.metadata)
        let specPath = FieldReader.join(path, "spec")
        for (key, v) in reader.members(spec, at: specPath, accepted: networkSpecFields) {
            let p = FieldReader.join(specPath, key)
            switch key {
            case "networkNamespace": network.spec.networkNamespace = reader.string(v, at: p)
            case "resourceName": network.spec.resourceName = reader.string(v, at: p)
            case "capabilities": network.spec.capabilities = reader.string(v, at: p)
            case "ipam": network.spec.ipam = reader.string(v, at: p)
            case "vlan": network.spec.vlan = reader.int32(v, at: p) ?? 0
            case "vlanQoS": network.spec.vlanQos = reader.int32(v, at: p) ?? 0
            case "vlanProto": network.spec.vlanProto = reader.string(v, at: p)
            case "spoofChk": network.spec.spoofChk = reader.string(v, at: p)
            case "trust": network.spec.trust = reader.string(v, at: p)
            case "linkState": network.spec.linkState = reader.string(v, at: p)
            case "minTxRate": network.spec.minTxRate = reader.int32(v, at: p)
            case "maxTxRate": network.spec.maxTxRate = reader.int32(v, at: p)
            case "metaPlugins": network.spec.metaPlugins = reader.string(v, at: p)
            case "logLevel": network.spec.logLevel = reader.string(v, at: p)
            case "logFile": network.spec.logFile = reader.string(v, at: p)
            default: break
            }
        }
        let statusPath = FieldReader.join(path, "status")
        for (key, v) in reader.members(status, at: statusPath, accepted: networkStatusFields) where key == "conditions" {
            let p = FieldReader.join(statusPath, key)
            for (i, item) in reader.list(v, at: p).enumerated() {
                network.status.conditions.append(readCondition(item, path: "\(p)[\(i)]", reader: &reader))
            }
        }
        if !reader.errors.isEmpty { throw FieldErrorList(reader.errors) }
        return network
    }

    static func readCondition(_ value: CRValue, path: String, reader: inout FieldReader) -> SriovV1.Condition {
        var c = SriovV1.Condition()
        for (key, v) in reader.members(value, at: path, accepted: conditionFields) {
            let p = FieldReader.join(path, key)
            switch key {
            case "type": c.type = reader.string(v, at: p)
            case "status": c.status = reader.string(v, at: p)
            case "reason": c.reason = reader.string(v, at: p)
            case "message": c.message = reader.string(v, at: p)
            case "lastTransitionTime": c.lastTransitionTime = readTimestamp(v, path: p, reader: &reader)
            case "observedGeneration":
                c.observedGeneration = reader.int64(v, at: p, range: Int64.min...Int64.max) ?? 0
            default: break
            }
        }
        return c
    }

    static func encodeCondition(_ c: SriovV1.Condition) -> CRValue {
        var b = ObjectBuilder()
        b.string("type", c.type, omitEmpty: false)
        b.string("status", c.status, omitEmpty: false)
        b.string("reason", c.reason)
        b.string("message", c.message)
        if !isZero(c.lastTransitionTime) { b.set("lastTransitionTime", .string(RFC3339.format(c.lastTransitionTime))) }
        b.int("observedGeneration", c.observedGeneration)
        return b.value
    }

    /// Encodes a network. Every spec field follows upstream's `omitempty`
    /// tags (`resourceName` is always written; `vlan` and `vlanQoS` are
    /// omitted at 0 as upstream's types do; `minTxRate`/`maxTxRate` whenever
    /// set, 0 included). `status` is written only when it has conditions.
    public static func encode(_ network: SriovV1.SriovNetwork) -> CRValue {
        let s = network.spec
        var b = ObjectBuilder()
        b.string("networkNamespace", s.networkNamespace)
        b.string("resourceName", s.resourceName, omitEmpty: false)
        b.string("capabilities", s.capabilities)
        b.string("ipam", s.ipam)
        b.int("vlan", s.vlan)
        b.int("vlanQoS", s.vlanQos)
        b.string("vlanProto", s.vlanProto)
        b.string("spoofChk", s.spoofChk)
        b.string("trust", s.trust)
        b.string("linkState", s.linkState)
        b.optionalInt("minTxRate", s.minTxRate)
        b.optionalInt("maxTxRate", s.maxTxRate)
        b.string("metaPlugins", s.metaPlugins)
        b.string("logLevel", s.logLevel)
        b.string("logFile", s.logFile)
        var status = ObjectBuilder()
        status.nested("conditions", .array(network.status.conditions.map(encodeCondition)))
        return envelope(kind: Kind.network, meta: network.metadata, spec: b.value, status: status.value)
    }
}
