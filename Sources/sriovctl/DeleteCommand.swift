import ArgumentParser
import Foundation
import SriovAPI
import SriovProto

/// `sriovctl delete KIND NAME...` and `sriovctl delete -f FILE`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete policies, networks or node states, by name or as listed in files.",
        discussion: """
            delete policy|network|nodestate NAME... (or KIND/NAME), or delete -f FILE|DIR|- for the \
            policies, networks and node states the files name. Deleting a node state forgets a \
            decommissioned node; an agent that reports again recreates it.
            """)

    @Argument(help: "KIND NAME..., or KIND/NAME...")
    var arguments: [String] = []
    @Option(name: [.customShort("f"), .customLong("filename")], help: "A file, a directory or - (repeatable).")
    var filenames: [String] = []
    @Option(name: [.customShort("n"), .customLong("namespace")], help: "Namespace of the networks (default: the only network of that name).")
    var namespace: String?
    @Flag(help: "An object that does not exist is not an error.")
    var ignoreNotFound = false
    @OptionGroup var connection: ConnectionOptions

    /// One object to delete.
    struct Target {
        var kind: ResourceKind
        var name: String
        var namespace: String?
    }

    func targets() throws(CLIError) -> [Target] {
        if !filenames.isEmpty {
            if !arguments.isEmpty { throw .usage("give either -f or KIND NAME, not both") }
            return try ObjectFiles.read(filenames).map { (o) throws(CLIError) in
                switch o.object {
                case .policy(let p): return Target(kind: .policy, name: p.metadata.name, namespace: nil)
                case .network(let n): return Target(kind: .network, name: n.metadata.name, namespace: n.metadata.namespace.isEmpty ? "default" : n.metadata.namespace)
                case .nodeState(let s): return Target(kind: .nodeState, name: s.metadata.name, namespace: nil)
                case .node: throw .usage("\(o.place): Nodes are not stored by the controller; delete its node state instead")
                }
            }
        }
        guard let first = arguments.first else { throw .usage("give KIND NAME... or -f FILE") }
        let allowed: [ResourceKind] = [.policy, .network, .nodeState]
        if first.contains("/") {
            return try arguments.map { (a) throws(CLIError) in
                let (k, n) = try ResourceKind.parse(a, name: nil, allowed: allowed)
                return Target(kind: k, name: n!, namespace: namespace)
            }
        }
        let (kind, _) = try ResourceKind.parse(first, name: nil, allowed: allowed)
        let names = arguments.dropFirst()
        if names.isEmpty { throw .usage("delete \(first): name the objects to delete") }
        return names.map { Target(kind: kind, name: $0, namespace: namespace) }
    }

    func run() async throws {
        await runCommand {
            let targets = try targets()
            let client = try connection.client()
            var failures: [String] = []
            for t in targets {
                let id = "\(t.kind.resourceName)/\(t.name)"
                do {
                    var req = SriovV1.DeleteRequest()
                    req.name = t.name
                    let method: MethodDescriptor<SriovV1.DeleteRequest, SriovV1.DeleteResponse>
                    switch t.kind {
                    case .policy: method = SriovV1.Operator.deletePolicy
                    case .nodeState: method = SriovV1.Operator.deleteNodeState
                    default:
                        method = SriovV1.Operator.deleteNetwork
                        guard let n = try await client.network(named: t.name, namespace: t.namespace) else {
                            throw CLIError(.refused, "\(t.kind.resourceName) \"\(t.name)\" not found")
                        }
                        req.namespace = n.metadata.namespace
                    }
                    guard try await client.optional(method, req, "deleting \(id)") != nil else {
                        throw CLIError(.refused, "\(t.kind.resourceName) \"\(t.name)\" not found")
                    }
                    Console.out("\(t.kind.resourceName) \"\(t.name)\" deleted\n")
                } catch let e as CLIError {
                    if e.status == .unreachable { throw e }
                    if ignoreNotFound && e.lines.allSatisfy({ $0.hasSuffix("not found") }) { continue }
                    failures += e.lines
                }
            }
            if !failures.isEmpty { throw CLIError(.refused, failures) }
        }
    }
}
