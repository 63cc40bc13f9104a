import Foundation
import SriovGRPC
import SriovProto

/// Typed calls of `sriov.v1.Operator`, each failure turned into a
/// ``CLIError`` that names what was being done.
struct OperatorClient {
    typealias Op = SriovV1.Operator

    let channel: GRPCChannel
    /// The address, for messages.
    let server: String
    /// Per-request timeout.
    let timeout: Duration

    /// One unary call; `what` says what it does, for the error line.
    func call<I, O>(_ method: MethodDescriptor<I, O>, _ request: I, _ what: String) async throws(CLIError) -> O {
        do {
            return try await channel.unary(method, request, timeout: timeout)
        } catch {
            throw CLIError.rpc(error, server: server, what: what)
        }
    }

    /// Whether a call failed with NOT_FOUND; other failures are thrown.
    func optional<I, O>(_ method: MethodDescriptor<I, O>, _ request: I, _ what: String) async throws(CLIError) -> O? {
        do {
            return try await channel.unary(method, request, timeout: timeout)
        } catch let e as RPCError where e.code == .notFound {
            return nil
        } catch {
            throw CLIError.rpc(error, server: server, what: what)
        }
    }

    static func get(_ name: String, namespace: String = "") -> SriovV1.GetRequest {
        var r = SriovV1.GetRequest()
        r.name = name
        r.namespace = namespace
        return r
    }

    /// Every page of a list.
    func listAll<Item>(
        selector: String = "", namespace: String = "",
        _ page: (SriovV1.ListRequest) async throws(CLIError) -> (items: [Item], next: String, revision: String)
    ) async throws(CLIError) -> (items: [Item], revision: String) {
        var req = SriovV1.ListRequest()
        req.labelSelector = selector
        req.namespace = namespace
        req.pageSize = 500
        var all: [Item] = []
        var revision = ""
        while true {
            let p = try await page(req)
            all += p.items
            if revision.isEmpty { revision = p.revision }
            if p.next.isEmpty { break }
            req.pageToken = p.next
        }
        return (all, revision)
    }

    func policies(selector: String = "") async throws(CLIError) -> [SriovV1.SriovNetworkNodePolicy] {
        try await listAll(selector: selector) { (r) throws(CLIError) in
            let resp = try await call(Op.listPolicies, r, "listing policies")
            return (resp.items, resp.nextPageToken, resp.resourceVersion)
        }.items
    }

    func networks(selector: String = "", namespace: String = "") async throws(CLIError) -> [SriovV1.SriovNetwork] {
        try await listAll(selector: selector, namespace: namespace) { (r) throws(CLIError) in
            let resp = try await call(Op.listNetworks, r, "listing networks")
            return (resp.items, resp.nextPageToken, resp.resourceVersion)
        }.items
    }

    func nodeStates(selector: String = "") async throws(CLIError) -> (items: [SriovV1.SriovNetworkNodeState], revision: String) {
        try await listAll(selector: selector) { (r) throws(CLIError) in
            let resp = try await call(Op.listNodeStates, r, "listing node states")
            return (resp.items, resp.nextPageToken, resp.resourceVersion)
        }
    }

    func rendered(namespace: String = "") async throws(CLIError) -> [SriovV1.RenderedObject] {
        try await listAll(namespace: namespace) { (r) throws(CLIError) in
            let resp = try await call(Op.listRendered, r, "listing rendered objects")
            return (resp.items, resp.nextPageToken, resp.resourceVersion)
        }.items
    }

    /// A network by name: in `namespace` when given, else the only network
    /// of that name in any namespace.
    func network(named name: String, namespace: String?) async throws(CLIError) -> SriovV1.SriovNetwork? {
        if let namespace {
            return try await optional(Op.getNetwork, Self.get(name, namespace: namespace), "getting sriovnetwork/\(name)")
        }
        let matches = try await networks().filter { $0.metadata.name == name }
        if matches.count > 1 {
            let spaces = matches.map(\.metadata.namespace).joined(separator: ", ")
            throw .usage("sriovnetwork/\(name) exists in several namespaces (\(spaces)); pick one with -n NAMESPACE")
        }
        return matches.first
    }
}
