import Foundation
import SriovAPI
import SriovProto

/// `-o` of `get` and `watch`.
enum OutputFormat: String, CaseIterable {
    case table, wide, yaml, json, name

    static func parse(_ text: String?) throws(CLIError) -> OutputFormat {
        guard let text else { return .table }
        guard let f = OutputFormat(rawValue: text) else {
            throw .usage("-o \(text) is not one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return f
    }
}

/// Table rows and object forms of every kind.
enum Printers {
    static func selector(_ map: [String: String]) -> String {
        map.isEmpty ? "<none>" : map.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func nicSelector(_ s: SriovV1.NicSelector) -> String {
        var parts: [String] = []
        if !s.vendor.isEmpty || !s.deviceID.isEmpty { parts.append("\(s.vendor.isEmpty ? "*" : s.vendor):\(s.deviceID.isEmpty ? "*" : s.deviceID)") }
        if !s.pfNames.isEmpty { parts.append("pfNames=" + s.pfNames.joined(separator: ";")) }
        if !s.rootDevices.isEmpty { parts.append("rootDevices=" + s.rootDevices.joined(separator: ";")) }
        if !s.netFilter.isEmpty { parts.append("netFilter=" + s.netFilter) }
        return parts.isEmpty ? "<none>" : parts.joined(separator: ",")
    }

    // MARK: policies

    static func policyHeaders(wide: Bool) -> [String] {
        ["NAME", "PRIORITY", "NUMVFS", "RESOURCE", "DEVICE TYPE", "AGE"] + (wide ? ["MTU", "NODE SELECTOR", "NIC SELECTOR"] : [])
    }

    static func policyRow(_ p: SriovV1.SriovNetworkNodePolicy, wide: Bool, now: Date) -> [String] {
        let s = p.spec
        var row = [
            p.metadata.name, s.priority.map(String.init) ?? "<none>", String(s.numVfs), s.resourceName,
            s.deviceType.isEmpty ? Defaults.deviceType : s.deviceType, Age.of(p.metadata.creationTimestamp, now: now),
        ]
        if wide { row += [s.mtu == 0 ? "<none>" : String(s.mtu), selector(s.nodeSelector), nicSelector(s.nicSelector)] }
        return row
    }

    // MARK: networks

    static func networkHeaders(wide: Bool) -> [String] {
        ["NAMESPACE", "NAME", "RESOURCE", "VLAN", "AGE"] + (wide ? ["TARGET NAMESPACE", "IPAM", "SPOOFCHK", "TRUST", "LINK STATE"] : [])
    }

    static func networkRow(_ n: SriovV1.SriovNetwork, wide: Bool, now: Date) -> [String] {
        let s = n.spec
        var row = [n.metadata.namespace, n.metadata.name, s.resourceName, String(s.vlan), Age.of(n.metadata.creationTimestamp, now: now)]
        if wide {
            row += [
                s.networkNamespace.isEmpty ? n.metadata.namespace : s.networkNamespace, ipamType(s.ipam),
                s.spoofChk.isEmpty ? "<none>" : s.spoofChk, s.trust.isEmpty ? "<none>" : s.trust,
                s.linkState.isEmpty ? "<none>" : s.linkState,
            ]
        }
        return row
    }

    /// The `type` of a network's IPAM JSON.
    static func ipamType(_ ipam: String) -> String {
        guard !ipam.isEmpty else { return "<none>" }
        if case .string(let t)? = (try? CRValue.parseDocument(ipam, source: "ipam"))?["type"] { return t }
        return "<invalid>"
    }

    // MARK: node states

    static func nodeStateHeaders(wide: Bool) -> [String] {
        ["NAME", "SYNC STATUS", "PFS", "VFS", "GENERATION", "OBSERVED", "AGE"] + (wide ? ["NICS", "LAST SEEN", "LAST SYNC ERROR"] : [])
    }

    static func nodeStateRow(_ n: SriovV1.SriovNetworkNodeState, wide: Bool, now: Date) -> [String] {
        let st = n.status
        let vfs = st.interfaces.reduce(0) { $0 + Int($1.numVfs) }
        let desired = n.spec.interfaces.reduce(0) { $0 + Int($1.numVfs) }
        var row = [
            n.metadata.name, st.syncStatus.isEmpty ? "<none>" : st.syncStatus, String(st.interfaces.count),
            desired == vfs ? String(vfs) : "\(vfs)/\(desired)", String(n.metadata.generation), String(st.observedGeneration),
            Age.of(n.metadata.creationTimestamp, now: now),
        ]
        if wide {
            row += [nics(st.interfaces), st.lastSeenTime.seconds == 0 ? "<never>" : Age.of(st.lastSeenTime, now: now) + " ago",
                    st.lastSyncError.isEmpty ? "<none>" : oneLine(st.lastSyncError, max: 80)]
        }
        return row
    }

    /// `2x8086:1583,1x15b3:1017`: how many PFs of each vendor:device.
    static func nics(_ pfs: [SriovV1.InterfaceExt]) -> String {
        var counts: [(String, Int)] = []
        for pf in pfs {
            let key = "\(pf.vendor):\(pf.deviceID)"
            if let i = counts.firstIndex(where: { $0.0 == key }) { counts[i].1 += 1 } else { counts.append((key, 1)) }
        }
        return counts.isEmpty ? "<none>" : counts.map { "\($0.1)x\($0.0)" }.joined(separator: ",")
    }

    static func oneLine(_ s: String, max: Int) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= max ? flat : String(flat.prefix(max - 3)) + "..."
    }

    // MARK: rendered objects

    static func nadHeaders() -> [String] { ["NAMESPACE", "NAME", "RESOURCE", "SOURCE", "STATUS"] }

    static func nadRow(_ o: SriovV1.RenderedObject) -> [String] {
        var resource = "<none>"
        if let v = try? CRValue.parseDocument(o.json, source: "nad"),
           case .string(let r)? = v["metadata"]?["annotations"]?["k8s.v1.cni.cncf.io/resourceName"] {
            resource = r
        }
        return [o.namespace, o.name, resource, o.source, o.error.isEmpty ? "Rendered" : "Error: " + oneLine(o.error, max: 60)]
    }

    static func devicePluginHeaders() -> [String] { ["NODE", "RESOURCES", "NAMES"] }

    static func devicePluginRow(_ o: SriovV1.RenderedObject) -> [String] {
        var names: [String] = []
        if case .array(let list)? = (try? CRValue.parseDocument(o.json, source: "config"))?["resourceList"] {
            for item in list {
                if case .string(let n)? = item["resourceName"] { names.append(n) }
            }
        }
        return [o.name, String(names.count), names.isEmpty ? "<none>" : names.joined(separator: ",")]
    }

    /// A rendered object as a value tree (its JSON parsed).
    static func value(_ o: SriovV1.RenderedObject) -> CRValue {
        if !o.error.isEmpty || o.json.isEmpty {
            return .object([("kind", .string(o.kind)), ("name", .string(o.name)), ("error", .string(o.error))])
        }
        let parsed = (try? CRValue.parseDocument(o.json, source: o.name)) ?? .string(o.json)
        if o.kind == ResourceKind.devicePluginConfig.kind {
            // The config has no name of its own: say which node it is for.
            return .object([("node", .string(o.name)), ("config", parsed)])
        }
        return parsed
    }

    // MARK: object forms

    /// One object or a v1 List of several, as YAML or JSON.
    static func document(_ values: [CRValue], format: OutputFormat, single: Bool) -> String {
        let v = single && values.count == 1 ? values[0] : CRCodec.list(values)
        switch format {
        case .json: return v.jsonString(indent: 4) + "\n"
        default: return v.yamlString()
        }
    }
}
