import SriovProto

/// The SR-IOV CNI configuration text of a SriovNetwork, as the upstream
/// operator's template (`bindata/manifests/cni-config/sriov/sriov-cni-config.yaml`)
/// produces it.
public enum SriovCNIConfig {
    /// The template output before re-indentation: the keys cniVersion
    /// ("1.0.0"), name, [plugins:[{], type "sriov", vlan (always), spoofchk,
    /// trust, vlanQoS (always while 0...7), vlanProto, min_tx_rate,
    /// max_tx_rate, capabilities, link_state, logLevel, logFile, ipam (`{}` when
    /// empty, else the raw text with all whitespace removed) [}, metaPlugins]],
    /// with the spacing the template and YAML single-quote folding leave, e.g.
    /// `{ "cniVersion":"1.0.0", "name":"test","type":"sriov","vlan":0,"vlanQoS":0,"ipam":{} }`.
    ///
    /// spoofchk and trust are written only for `on`/`off`, link_state only for
    /// `auto`/`enable`/`disable`, min/max_tx_rate only when set and >= 0,
    /// logLevel and logFile only when non-empty. Raw values (capabilities,
    /// metaPlugins) are inserted as written, like the Go template does.
    public static func templateText(_ network: SriovV1.SriovNetwork) -> String {
        let s = network.spec
        let meta = !s.metaPlugins.isEmpty
        var t = "{\n  \"cniVersion\":\"1.0.0\",\n  \"name\":\"\(network.metadata.name)\","
        if meta { t += "\"plugins\": [\n    {" }
        t += "\"type\":\"sriov\","
        t += "\"vlan\":\(s.vlan),"
        if s.spoofChk == "on" || s.spoofChk == "off" { t += "\"spoofchk\":\"\(s.spoofChk)\"," }
        if s.trust == "on" || s.trust == "off" { t += "\"trust\":\"\(s.trust)\"," }
        if (0...7).contains(s.vlanQos) { t += "\"vlanQoS\":\(s.vlanQos)," }
        if !s.vlanProto.isEmpty { t += "\"vlanProto\":\"\(s.vlanProto)\"," }
        if let rate = s.minTxRate, rate >= 0 { t += "\"min_tx_rate\":\(rate)," }
        if let rate = s.maxTxRate, rate >= 0 { t += "\"max_tx_rate\":\(rate)," }
        if !s.capabilities.isEmpty { t += "\"capabilities\":\(s.capabilities)," }
        if ["auto", "enable", "disable"].contains(s.linkState) { t += "\"link_state\":\"\(s.linkState)\"," }
        if !s.logLevel.isEmpty { t += "\"logLevel\":\"\(s.logLevel)\"," }
        if !s.logFile.isEmpty { t += "\"logFile\":\"\(s.logFile)\"," }
        if s.ipam.isEmpty {
            t += "\"ipam\":{}"
        } else {
            t += "\"ipam\":" + String(String.UnicodeScalarView(s.ipam.unicodeScalars.filter { !isGoSpace($0) }))
        }
        t += "\n}"
        if meta { t += ",\n  \(s.metaPlugins)\n  ]\n}" }
        return foldSingleQuoted(t)
    }

    /// Go's `unicode.IsSpace`, which `strings.Fields` splits on.
    static func isGoSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// YAML line folding of a multi-line single-quoted scalar: trailing and
    /// leading blanks around each line break are removed, one break becomes a
    /// space and each further (empty) line a newline.
    static func foldSingleQuoted(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 1 else { return text }
        func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" }
        var out = ""
        var pendingEmpty = 0
        for (i, line) in lines.enumerated() {
            var piece = line[...]
            if i > 0 { piece = piece.drop(while: isBlank) }
            if i < lines.count - 1 {
                while let last = piece.last, isBlank(last) { piece = piece.dropLast() }
            }
            if i == 0 {
                out += piece
                continue
            }
            if piece.isEmpty && i < lines.count - 1 {
                pendingEmpty += 1
                continue
            }
            out += pendingEmpty == 0 ? " " : String(repeating: "\n", count: pendingEmpty)
            pendingEmpty = 0
            out += piece
        }
        return out
    }
}
