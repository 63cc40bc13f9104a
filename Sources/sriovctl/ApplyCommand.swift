import ArgumentParser
import Foundation
import SriovAPI
import SriovProto

/// `sriovctl apply -f FILE|DIR|-`: creates or updates policies and networks.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create or update policies and networks from YAML or JSON.",
        discussion: """
            Reads multi-document YAML or JSON (the Go operator's and the 2019 README's shapes, \
            List wrappers included) from files, directories or - (standard input). Every object \
            is validated first; any problem stops the command before anything is sent, with one \
            line per problem naming file, document, object and field. Then each object is applied \
            in order and one line printed: sriovnetworknodepolicy/NAME created, configured or \
            unchanged. Node states and Nodes are reported by agents and cannot be applied.

            --dry-run=server asks the controller what a policy would change (which nodes, which \
            PFs, before and after) and which conflicts it would meet, and stores nothing; \
            --dry-run=client only validates. A conflict or refusal exits with status 2.
            """)

    enum DryRun: String, ExpressibleByArgument, CaseIterable {
        case none, client, server
    }

    @Option(name: [.customShort("f"), .customLong("filename")], help: "A file, a directory or - (repeatable).")
    var filenames: [String] = []
    @Option(help: "none, client (validate only) or server (ask the controller what would change).")
    var dryRun: DryRun = .none
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        await runCommand {
            let objects = try ObjectFiles.read(filenames)
            var rejected: [String] = []
            for o in objects {
                switch o.object {
                case .policy, .network: break
                case .nodeState, .node:
                    rejected.append("\(o.place): cannot be applied: node states and Nodes come from the agents; apply \(CRCodec.Kind.policy) and \(CRCodec.Kind.network) objects")
                }
            }
            if !rejected.isEmpty { throw CLIError(.usage, rejected) }
            if dryRun == .client {
                for o in objects { Console.out("\(ResourceKind.name(of: o.object)) validated (client dry run)\n") }
                return
            }
            let client = try connection.client()
            var failures: [String] = []
            var worst = CLIError.ExitStatus.usage
            for o in objects {
                do {
                    let line = dryRun == .server ? try await dryRunServer(o, client) : try await apply(o, client)
                    Console.out(line)
                } catch let e as CLIError {
                    if e.status == .unreachable { throw e }
                    failures += e.lines.map { "\(o.place): \($0)" }
                    if e.status.rawValue > worst.rawValue { worst = e.status }
                }
            }
            if !failures.isEmpty { throw CLIError(worst, failures) }
        }
    }

    func apply(_ o: SourcedObject, _ client: OperatorClient) async throws -> String {
        let id = ResourceKind.name(of: o.object)
        switch o.object {
        case .policy(let p):
            let before = try await client.optional(SriovV1.Operator.getPolicy, OperatorClient.get(p.metadata.name, namespace: p.metadata.namespace), "reading \(id)")
            var req = SriovV1.ApplyPolicyRequest()
            req.policy = p
            let resp = try await client.call(SriovV1.Operator.applyPolicy, req, "applying \(id)")
            return "\(id) \(Self.verb(created: resp.created, before: before?.metadata.resourceVersion, after: resp.policy.metadata.resourceVersion))\n"
        case .network(let n):
            let before = try await client.optional(SriovV1.Operator.getNetwork, OperatorClient.get(n.metadata.name, namespace: n.metadata.namespace), "reading \(id)")
            var req = SriovV1.ApplyNetworkRequest()
            req.network = n
            let resp = try await client.call(SriovV1.Operator.applyNetwork, req, "applying \(id)")
            return "\(id) \(Self.verb(created: resp.created, before: before?.metadata.resourceVersion, after: resp.network.metadata.resourceVersion))\n"
        case .nodeState, .node:
            throw CLIError.usage("\(o.place): cannot be applied")
        }
    }

    static func verb(created: Bool, before: String?, after: String) -> String {
        if created { return "created" }
        return before == after ? "unchanged" : "configured"
    }

    /// What applying would do, from the controller's DryRunPolicy.
    func dryRunServer(_ o: SourcedObject, _ client: OperatorClient) async throws -> String {
        let id = ResourceKind.name(of: o.object)
        switch o.object {
        case .policy(let p):
            let before = try await client.optional(SriovV1.Operator.getPolicy, OperatorClient.get(p.metadata.name, namespace: p.metadata.namespace), "reading \(id)")
            var req = SriovV1.DryRunPolicyRequest()
            req.policy = p
            let resp = try await client.call(SriovV1.Operator.dryRunPolicy, req, "dry-running \(id)")
            if !resp.validationErrors.isEmpty {
                throw CLIError(.refused, resp.validationErrors.map { "the server would refuse it: \($0)" })
            }
            var text = "\(id) \(before.map { Self.samePolicy($0, p) ? "unchanged" : "configured" } ?? "created") (server dry run)\n"
            if resp.changes.isEmpty { text += "  no node's spec would change\n" }
            for node in resp.changes {
                for pf in node.interfaces {
                    text += "  node \(node.nodeName) PF \(pf.pciAddress): \(Self.summary(pf.before == SriovV1.Interface() ? nil : pf.before)) -> \(Self.summary(pf.after == SriovV1.Interface() ? nil : pf.after))\n"
                }
            }
            Console.out(text)
            if !resp.conflicts.isEmpty {
                throw CLIError(.refused, resp.conflicts.map { "conflict \($0.reason) on node \($0.nodeName)\($0.pciAddress.isEmpty ? "" : " PF \($0.pciAddress)"): \($0.message)" })
            }
            return ""
        case .network(let n):
            let before = try await client.optional(SriovV1.Operator.getNetwork, OperatorClient.get(n.metadata.name, namespace: n.metadata.namespace), "reading \(id)")
            let same = before.map { Defaults.applied(to: $0).spec == Defaults.applied(to: n).spec && $0.metadata.labels == n.metadata.labels && $0.metadata.annotations == n.metadata.annotations } ?? false
            let target = n.spec.networkNamespace.isEmpty ? (n.metadata.namespace.isEmpty ? "default" : n.metadata.namespace) : n.spec.networkNamespace
            return "\(id) \(before == nil ? "created" : same ? "unchanged" : "configured") (server dry run)\n  no node's spec would change; the NetworkAttachmentDefinition \(target)/\(n.metadata.name) would be rendered\n"
        case .nodeState, .node:
            throw CLIError.usage("\(o.place): cannot be applied")
        }
    }

    static func samePolicy(_ stored: SriovV1.SriovNetworkNodePolicy, _ candidate: SriovV1.SriovNetworkNodePolicy) -> Bool {
        Defaults.applied(to: stored).spec == Defaults.applied(to: candidate).spec
            && stored.metadata.labels == candidate.metadata.labels && stored.metadata.annotations == candidate.metadata.annotations
    }

    /// `numVfs 4, mtu 1500, groups [intel_nics_1 vfio-pci 0-3 (policy-1)]`.
    static func summary(_ i: SriovV1.Interface?) -> String {
        guard let i else { return "not configured" }
        var s = "numVfs \(i.numVfs)"
        if i.mtu != 0 { s += ", mtu \(i.mtu)" }
        if !i.linkType.isEmpty { s += ", linkType \(i.linkType)" }
        if !i.eSwitchMode.isEmpty { s += ", eSwitchMode \(i.eSwitchMode)" }
        if i.externallyManaged { s += ", externally managed" }
        s += ", groups [" + i.vfGroups.map { "\($0.resourceName) \($0.deviceType) \($0.vfRange) (\($0.policyName))" }.joined(separator: "; ") + "]"
        return s
    }
}

extension ResourceKind {
    /// `sriovnetworknodepolicy/NAME` of a decoded object.
    static func name(of object: APIObject) -> String {
        switch object {
        case .policy(let p): "\(ResourceKind.policy.resourceName)/\(p.metadata.name)"
        case .network(let n): "\(ResourceKind.network.resourceName)/\(n.metadata.name)"
        case .nodeState(let s): "\(ResourceKind.nodeState.resourceName)/\(s.metadata.name)"
        case .node(let n): "node/\(n.name)"
        }
    }
}
