import ArgumentParser
import Foundation
import SriovAPI
import SriovProto

/// `sriovctl get KIND [NAME]`: tables as kubectl prints them, or the objects.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "List policies, networks, node states, rendered NADs or device-plugin configs.",
        discussion: """
            KIND is one of: policies (sriovnetworknodepolicy, snnp), networks (sriovnetwork, sn), \
            nodestates (sriovnetworknodestate, snns), net-attach-def (network-attachment-definition, nad), \
            devicepluginconfig (dpc); singular, plural and KIND/NAME forms work. -w streams node-state \
            changes (as `sriovctl watch nodestates`).
            """)

    @Argument(help: "The kind, or KIND/NAME.")
    var kind: String
    @Argument(help: "An object's name.")
    var name: String?
    @Option(name: [.customShort("o"), .customLong("output")], help: "table, wide, yaml, json or name.")
    var output: String?
    @Option(name: [.customShort("l"), .customLong("selector")], help: "Label selector, e.g. a=b,c!=d.")
    var selector: String = ""
    @Option(name: [.customShort("n"), .customLong("namespace")], help: "Namespace of networks and NADs (default: all).")
    var namespace: String?
    @Flag(name: [.customShort("w"), .customLong("watch")], help: "After listing, stream changes (node states only).")
    var watch = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        await runCommand {
            let format = try OutputFormat.parse(output)
            let (kind, objectName) = try ResourceKind.parse(self.kind, name: name, allowed: ResourceKind.allCases)
            let client = try connection.client()
            if watch {
                guard kind == .nodeState else { throw CLIError.usage("-w works for nodestates only, not \(kind.resourceName)") }
                try await NodeStateWatcher(client: client, name: objectName, format: format, timeout: nil).run()
                return
            }
            let text = try await Self.fetch(kind, name: objectName, selector: selector, namespace: namespace, format: format, client: client)
            if text.isEmpty && (format == .table || format == .wide) {
                Console.error("No resources found.")
            }
            Console.out(text)
        }
    }

    /// The output of `get` for one kind.
    static func fetch(
        _ kind: ResourceKind, name: String?, selector: String, namespace: String?, format: OutputFormat,
        client: OperatorClient, now: Date = Date()
    ) async throws(CLIError) -> String {
        let wide = format == .wide
        var table: Table
        var values: [CRValue] = []
        var names: [String] = []
        switch kind {
        case .policy:
            var items: [SriovV1.SriovNetworkNodePolicy]
            if let name {
                guard let p = try await client.optional(SriovV1.Operator.getPolicy, OperatorClient.get(name), "getting sriovnetworknodepolicy/\(name)") else {
                    throw CLIError(.refused, "sriovnetworknodepolicy \"\(name)\" not found")
                }
                items = [p]
            } else {
                items = try await client.policies(selector: selector)
            }
            table = Table(Printers.policyHeaders(wide: wide))
            for p in items {
                table.append(Printers.policyRow(p, wide: wide, now: now))
                values.append(CRCodec.encode(p))
                names.append(p.metadata.name)
            }
        case .network:
            var items: [SriovV1.SriovNetwork]
            if let name {
                guard let n = try await client.network(named: name, namespace: namespace) else {
                    throw CLIError(.refused, "sriovnetwork \"\(name)\" not found" + (namespace.map { " in namespace \($0)" } ?? ""))
                }
                items = [n]
            } else {
                items = try await client.networks(selector: selector, namespace: namespace ?? "")
            }
            table = Table(Printers.networkHeaders(wide: wide))
            for n in items {
                table.append(Printers.networkRow(n, wide: wide, now: now))
                values.append(CRCodec.encode(n))
                names.append(n.metadata.name)
            }
        case .nodeState:
            var items: [SriovV1.SriovNetworkNodeState]
            if let name {
                guard let n = try await client.optional(SriovV1.Operator.getNodeState, OperatorClient.get(name), "getting sriovnetworknodestate/\(name)") else {
                    throw CLIError(.refused, "sriovnetworknodestate \"\(name)\" not found")
                }
                items = [n]
            } else {
                items = try await client.nodeStates(selector: selector).items
            }
            table = Table(Printers.nodeStateHeaders(wide: wide))
            for n in items {
                table.append(Printers.nodeStateRow(n, wide: wide, now: now))
                values.append(CRCodec.encode(n))
                names.append(n.metadata.name)
            }
        case .networkAttachmentDefinition, .devicePluginConfig:
            if !selector.isEmpty { throw CLIError.usage("-l does not apply to \(kind.resourceName): rendered objects carry no labels") }
            var items = try await client.rendered(namespace: kind == .networkAttachmentDefinition ? namespace ?? "" : "")
                .filter { $0.kind == kind.kind }
            if let name {
                items = items.filter { $0.name == name }
                if items.isEmpty { throw CLIError(.refused, "\(kind.resourceName) \"\(name)\" not found") }
            }
            let nad = kind == .networkAttachmentDefinition
            table = Table(nad ? Printers.nadHeaders() : Printers.devicePluginHeaders())
            for o in items {
                table.append(nad ? Printers.nadRow(o) : Printers.devicePluginRow(o))
                values.append(Printers.value(o))
                names.append(o.name)
            }
        }
        switch format {
        case .table, .wide:
            if table.rows.isEmpty { return "" }
            return table.render()
        case .name:
            return names.map { "\(kind.resourceName)/\($0)\n" }.joined()
        case .yaml, .json:
            return Printers.document(values, format: format, single: name != nil)
        }
    }
}
