import ArgumentParser
import Foundation
import SriovAPI
import SriovProto

/// `sriovctl describe policy|network|nodestate NAME`: human-readable detail.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show one policy, network or node state in detail.",
        discussion: """
            A node state shows each PF with its VF groups, which policy shaped each group, the VFs \
            present and their drivers, the last sync error and when the node was last seen. A policy \
            shows the nodes and PFs it shapes; a network its rendered NetworkAttachmentDefinition.
            """)

    @Argument(help: "policy, network or nodestate (any kubectl spelling), or KIND/NAME.")
    var kind: String
    @Argument(help: "The object's name.")
    var name: String?
    @Option(name: [.customShort("n"), .customLong("namespace")], help: "Namespace of a network (default: the only network of that name).")
    var namespace: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        await runCommand {
            let (kind, objectName) = try ResourceKind.parse(self.kind, name: name, allowed: [.policy, .network, .nodeState])
            guard let objectName else { throw CLIError.usage("describe \(self.kind): name the object") }
            let client = try connection.client()
            Console.out(try await Self.describe(kind, objectName, namespace: namespace, client: client))
        }
    }

    static func describe(_ kind: ResourceKind, _ name: String, namespace: String?, client: OperatorClient, now: Date = Date()) async throws(CLIError) -> String {
        let id = "\(kind.resourceName)/\(name)"
        switch kind {
        case .policy:
            guard let p = try await client.optional(SriovV1.Operator.getPolicy, OperatorClient.get(name), "getting \(id)") else {
                throw CLIError(.refused, "\(kind.resourceName) \"\(name)\" not found")
            }
            let states = try await client.nodeStates().items
            return Describer.policy(p, states: states, now: now)
        case .network:
            guard let n = try await client.network(named: name, namespace: namespace) else {
                throw CLIError(.refused, "\(kind.resourceName) \"\(name)\" not found")
            }
            let target = n.spec.networkNamespace.isEmpty ? n.metadata.namespace : n.spec.networkNamespace
            let nad = try await client.rendered(namespace: target).first {
                $0.kind == ResourceKind.networkAttachmentDefinition.kind && $0.source == "\(n.metadata.namespace)/\(n.metadata.name)"
            }
            return Describer.network(n, nad: nad, now: now)
        default:
            guard let s = try await client.optional(SriovV1.Operator.getNodeState, OperatorClient.get(name), "getting \(id)") else {
                throw CLIError(.refused, "\(kind.resourceName) \"\(name)\" not found")
            }
            return Describer.nodeState(s, now: now)
        }
    }
}

/// The text of `describe`: `Key:` labels aligned per block, nested blocks
/// indented by two spaces, as kubectl prints.
enum Describer {
    /// Aligned `Key:  value` lines; a value with several lines continues
    /// under the first.
    static func block(_ pairs: [(String, String)], indent: Int = 0, minWidth: Int = 0) -> String {
        let width = max(minWidth, (pairs.map(\.0.count).max() ?? 0) + 2)
        let pad = String(repeating: " ", count: indent)
        var out = ""
        for (key, value) in pairs {
            let label = key + ":" + String(repeating: " ", count: width - key.count - 1)
            let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
            out += pad + label + (lines.first.map(String.init) ?? "") + "\n"
            for more in lines.dropFirst() {
                out += pad + String(repeating: " ", count: width) + more + "\n"
            }
        }
        return out.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var l = String(line)
            while l.hasSuffix(" ") { l.removeLast() }
            return l
        }.joined(separator: "\n")
    }

    static func labels(_ map: [String: String]) -> String {
        map.isEmpty ? "<none>" : map.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
    }

    static func orNone(_ s: String) -> String { s.isEmpty ? "<none>" : s }

    static func metadata(_ m: SriovV1.ObjectMeta, now: Date) -> [(String, String)] {
        [
            ("Name", m.name), ("Namespace", orNone(m.namespace)), ("Labels", labels(m.labels)),
            ("Annotations", labels(m.annotations)), ("Created", Age.described(m.creationTimestamp, now: now)),
            ("Generation", String(m.generation)), ("Resource Version", m.resourceVersion),
        ]
    }

    static func policy(_ p: SriovV1.SriovNetworkNodePolicy, states: [SriovV1.SriovNetworkNodeState], now: Date) -> String {
        let s = p.spec
        var pairs = metadata(p.metadata, now: now)
        pairs += [
            ("Priority", s.priority.map(String.init) ?? "<none> (99)"), ("Resource Name", s.resourceName), ("Num VFs", String(s.numVfs)),
            ("MTU", s.mtu == 0 ? "<unchanged>" : String(s.mtu)), ("Device Type", s.deviceType.isEmpty ? Defaults.deviceType : s.deviceType),
            ("Is RDMA", String(s.isRdma)), ("Need Vhost Net", String(s.needVhostNet)), ("Link Type", orNone(s.linkType)),
            ("eSwitch Mode", orNone(s.eSwitchMode)), ("Externally Managed", String(s.externallyManaged)),
            ("Node Selector", labels(s.nodeSelector)),
        ]
        var out = block(pairs)
        out += "NIC Selector:\n"
        let n = s.nicSelector
        out += block([
            ("Vendor", orNone(n.vendor)), ("Device ID", orNone(n.deviceID)), ("Root Devices", n.rootDevices.isEmpty ? "<none>" : n.rootDevices.joined(separator: ", ")),
            ("PF Names", n.pfNames.isEmpty ? "<none>" : n.pfNames.joined(separator: ", ")), ("Net Filter", orNone(n.netFilter)),
        ], indent: 2)
        var shaped = Table(["NODE", "PF", "NAME", "VF RANGE", "RESOURCE", "DEVICE TYPE"])
        for state in states {
            for i in state.spec.interfaces {
                for g in i.vfGroups where g.policyName == p.metadata.name {
                    shaped.append([state.metadata.name, i.pciAddress, orNone(i.name), g.vfRange, g.resourceName, g.deviceType])
                }
            }
        }
        out += "Shapes:\n"
        out += shaped.rows.isEmpty ? "  no PF of any node (no node matches both selectors, or a higher-priority policy wins)\n" : indent(shaped.render(), by: 2)
        return out
    }

    static func network(_ n: SriovV1.SriovNetwork, nad: SriovV1.RenderedObject?, now: Date) -> String {
        let s = n.spec
        var pairs = metadata(n.metadata, now: now)
        pairs += [
            ("Resource Name", s.resourceName), ("Target Namespace", s.networkNamespace.isEmpty ? "\(n.metadata.namespace) (its own)" : s.networkNamespace),
            ("VLAN", String(s.vlan)), ("VLAN QoS", String(s.vlanQos)), ("VLAN Proto", orNone(s.vlanProto)),
            ("Spoof Check", orNone(s.spoofChk)), ("Trust", orNone(s.trust)), ("Link State", orNone(s.linkState)),
            ("Min TX Rate", s.minTxRate.map(String.init) ?? "<none>"), ("Max TX Rate", s.maxTxRate.map(String.init) ?? "<none>"),
            ("Capabilities", orNone(s.capabilities)), ("Log Level", orNone(s.logLevel)),
            ("IPAM", s.ipam.isEmpty ? "<none>" : s.ipam.trimmingCharacters(in: .whitespacesAndNewlines)),
            ("Meta Plugins", orNone(s.metaPlugins)),
        ]
        var out = block(pairs)
        out += "NetworkAttachmentDefinition:\n"
        guard let nad else { return out + "  not rendered yet\n" }
        if !nad.error.isEmpty { return out + "  \(nad.namespace)/\(nad.name): cannot be rendered: \(nad.error)\n" }
        var config = "<none>"
        if let v = try? CRValue.parseDocument(nad.json, source: "nad"), case .string(let c)? = v["spec"]?["config"] {
            config = (try? CRValue.parseDocument(c, source: "config"))?.jsonString(indent: 2) ?? c
        }
        out += block([("Name", "\(nad.namespace)/\(nad.name)"), ("CNI Config", config)], indent: 2)
        return out
    }

    static func nodeState(_ n: SriovV1.SriovNetworkNodeState, now: Date) -> String {
        let st = n.status
        var pairs = metadata(n.metadata, now: now)
        pairs += [
            ("Node Labels", labels(st.nodeLabels)), ("Sync Status", orNone(st.syncStatus)),
            ("Observed Generation", String(st.observedGeneration) + (st.observedGeneration == n.metadata.generation ? "" : " (behind generation \(n.metadata.generation))")),
            ("Last Sync Error", orNone(st.lastSyncError)), ("Last Seen", Age.described(st.lastSeenTime, now: now)),
        ]
        if !st.system.rdmaMode.isEmpty || !n.spec.system.rdmaMode.isEmpty {
            pairs.append(("RDMA Mode", "\(orNone(st.system.rdmaMode)) (desired \(orNone(n.spec.system.rdmaMode)))"))
        }
        var out = block(pairs)
        out += "Physical Functions:\n"
        var seen = Set<String>()
        if st.interfaces.isEmpty && n.spec.interfaces.isEmpty { out += "  none reported\n" }
        for pf in st.interfaces {
            seen.insert(pf.pciAddress)
            out += pfBlock(pf, spec: n.spec.interfaces.first { $0.pciAddress == pf.pciAddress })
        }
        for spec in n.spec.interfaces where !seen.contains(spec.pciAddress) {
            out += "  \(spec.pciAddress) \(orNone(spec.name)): desired but not reported by the node\n"
            out += groups(spec)
        }
        return out
    }

    static func pfBlock(_ pf: SriovV1.InterfaceExt, spec: SriovV1.Interface?) -> String {
        var out = "  \(pf.pciAddress) \(orNone(pf.name)):\n"
        var nic = "\(pf.vendor):\(pf.deviceID) \(orNone(pf.driver))"
        if !pf.linkSpeed.isEmpty { nic += ", \(pf.linkSpeed)" }
        if !pf.linkAdminState.isEmpty { nic += ", link \(pf.linkAdminState)" }
        nic += ", MTU \(pf.mtu)"
        if !pf.mac.isEmpty { nic += ", MAC \(pf.mac)" }
        var pairs: [(String, String)] = [("NIC", nic)]
        var vfs = "\(pf.numVfs) of \(pf.totalvfs)"
        if let spec { vfs += " (desired \(spec.numVfs))" }
        pairs.append(("VFs", vfs))
        if !pf.vfs.isEmpty { pairs.append(("VF Drivers", vfDrivers(pf.vfs))) }
        if !pf.altNames.isEmpty { pairs.append(("Alt Names", pf.altNames.joined(separator: ", "))) }
        out += block(pairs, indent: 4, minWidth: "VF Drivers".count + 2)
        if let spec {
            out += groups(spec)
        } else {
            out += "    not configured by any policy\n"
        }
        return out
    }

    static func groups(_ spec: SriovV1.Interface) -> String {
        var t = Table(["VF RANGE", "RESOURCE", "DEVICE TYPE", "MTU", "POLICY"])
        for g in spec.vfGroups {
            t.append([g.vfRange, g.resourceName, g.deviceType, g.mtu == 0 ? "-" : String(g.mtu), g.policyName])
        }
        var out = "    VF Groups:\n"
        out += t.rows.isEmpty ? "      none\n" : indent(t.render(), by: 6)
        return out
    }

    /// `0-3 vfio-pci, 4-7 iavf`: VF index ranges by bound driver.
    static func vfDrivers(_ vfs: [SriovV1.VirtualFunction]) -> String {
        var runs: [(first: Int32, last: Int32, driver: String)] = []
        for vf in vfs.sorted(by: { $0.vfID < $1.vfID }) {
            let d = vf.driver.isEmpty ? "unbound" : vf.driver
            if let l = runs.last, l.driver == d, l.last + 1 == vf.vfID {
                runs[runs.count - 1].last = vf.vfID
            } else {
                runs.append((vf.vfID, vf.vfID, d))
            }
        }
        return runs.map { $0.first == $0.last ? "\($0.first) \($0.driver)" : "\($0.first)-\($0.last) \($0.driver)" }.joined(separator: ", ")
    }

    static func indent(_ text: String, by n: Int) -> String {
        let pad = String(repeating: " ", count: n)
        return text.split(separator: "\n").map { pad + $0 + "\n" }.joined()
    }
}
