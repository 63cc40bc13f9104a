import SriovProto

extension Validation {
    /// Checks a network: metadata.name; networkNamespace (a DNS-1123 label);
    /// resourceName required; vlan 0...4095; vlanQoS 0...7; vlanProto,
    /// spoofChk, trust, linkState and logLevel enums; min/maxTxRate ≥ 0 and
    /// min ≤ max when max is set and not 0; ipam and capabilities JSON objects
    /// when set; metaPlugins one or more comma-separated JSON objects.
    public static func validate(_ network: SriovV1.SriovNetwork) -> [FieldError] {
        var c = Checker(kind: CRCodec.Kind.network, name: network.metadata.name)
        let s = network.spec
        c.objectName(network.metadata.name, at: "metadata.name")
        c.namespace(network.metadata.namespace, at: "metadata.namespace")
        c.namespace(s.networkNamespace, at: "spec.networkNamespace")
        c.resourceName(s.resourceName, at: "spec.resourceName")
        c.range(Int64(s.vlan), 0...4095, at: "spec.vlan", note: " (0 means no VLAN)")
        c.range(Int64(s.vlanQos), 0...7, at: "spec.vlanQoS")
        c.oneOf(s.vlanProto, vlanProtos, at: "spec.vlanProto")
        c.oneOf(s.spoofChk, onOff, at: "spec.spoofChk")
        c.oneOf(s.trust, onOff, at: "spec.trust")
        c.oneOf(s.linkState, linkStates, at: "spec.linkState")
        c.oneOf(s.logLevel, logLevels, at: "spec.logLevel")
        if let min = s.minTxRate, min < 0 {
            c.fail(.invalid, "spec.minTxRate", String(min), "accepted: 0 or more (Mbps)")
        }
        if let max = s.maxTxRate, max < 0 {
            c.fail(.invalid, "spec.maxTxRate", String(max), "accepted: 0 or more (Mbps; 0 means no limit)")
        }
        if let min = s.minTxRate, let max = s.maxTxRate, max > 0, min > max {
            c.fail(.invalid, "spec.minTxRate", String(min), "must not exceed maxTxRate \(max)")
        }
        if !s.ipam.isEmpty, let problem = Syntax.jsonObjectProblem(s.ipam) {
            c.fail(.invalid, "spec.ipam", Checker.quote(s.ipam), problem)
        }
        if !s.capabilities.isEmpty, let problem = Syntax.jsonObjectProblem(s.capabilities) {
            c.fail(.invalid, "spec.capabilities", Checker.quote(s.capabilities), problem)
        }
        if !s.metaPlugins.isEmpty, let problem = Syntax.metaPluginsProblem(s.metaPlugins) {
            c.fail(.invalid, "spec.metaPlugins", Checker.quote(s.metaPlugins), problem)
        }
        return c.errors
    }
}
