import Logging
import Synchronization
import SriovAPI
import SriovGRPC
import SriovProto
import SriovRender
import SriovStore

/// What `GetServerInfo` says about this controller process.
public final class ServerFacts: Sendable {
    /// The store backend's name: "sqlite" or "etcd".
    public let store: String
    /// The replica's name in the leader election; empty for a single replica.
    public let replica: String
    /// When the process started.
    let startedAt: GoogleProtobuf.Timestamp
    private let leading: Atomic<Bool>

    /// A single replica (it always leads) or one of several, which leads once
    /// ``setLeading(_:)`` says so.
    public init(store: String, replica: String = "", leading: Bool = true) {
        self.store = store
        self.replica = replica
        startedAt = Meta.now()
        self.leading = Atomic(leading)
    }

    /// Whether this replica holds the leader lease.
    public var isLeader: Bool { leading.load(ordering: .relaxed) }

    /// Called by the leader election on every change of leadership.
    public func setLeading(_ value: Bool) { leading.store(value, ordering: .relaxed) }
}

/// `sriov.v1.Operator`: desired state and status for operators' tooling.
public struct OperatorService: Sendable {
    let state: ControllerState
    let store: any KVStore
    let metrics: ControllerMetrics
    let logger: Logger
    let operatorNamespace: String
    let defaultNetworkNamespace: String
    let facts: ServerFacts
    let shutdown: StreamShutdown

    public init(state: ControllerState, store: any KVStore, metrics: ControllerMetrics, logger: Logger,
                options: ControllerState.Options = .defaults, facts: ServerFacts = ServerFacts(store: "sqlite"),
                shutdown: StreamShutdown = StreamShutdown()) {
        self.state = state
        self.store = store
        self.metrics = metrics
        self.logger = logger
        operatorNamespace = options.operatorNamespace
        defaultNetworkNamespace = options.defaultNetworkNamespace
        self.facts = facts
        self.shutdown = shutdown
    }

    typealias Op = SriovV1.Operator

    public var routes: [ServerRoute] {
        [
            unary(Op.applyPolicy, .write) { req, _ in
                let r = try await state.applyPolicy(req.policy, expectedResourceVersion: req.expectedResourceVersion)
                var resp = SriovV1.ApplyPolicyResponse()
                resp.policy = r.object
                resp.created = r.created
                resp.affectedNodes = r.affectedNodes
                return resp
            },
            unary(Op.getPolicy, .read) { req, _ in
                let ns = req.namespace.isEmpty ? operatorNamespace : req.namespace
                try requireName(req.name)
                guard let kv = try await store.get(ObjectKeys.policy(ns, req.name)) else {
                    throw RPCError(code: .notFound, message: "SriovNetworkNodePolicy \"\(ns)/\(req.name)\" not found")
                }
                return try StoredObject.policy(kv)
            },
            unary(Op.listPolicies, .read) { req, _ in
                let selector = try LabelSelector(parsing: req.labelSelector)
                let page = try await readPage(
                    store: store, prefix: ObjectKeys.policies + (req.namespace.isEmpty ? "" : req.namespace + "/"),
                    pageSize: req.pageSize, pageToken: req.pageToken, decode: StoredObject.policy,
                    keep: { selector.matches($0.metadata.labels) })
                var resp = SriovV1.ListPoliciesResponse()
                resp.items = page.items
                resp.nextPageToken = page.next
                resp.resourceVersion = String(page.revision)
                return resp
            },
            unary(Op.deletePolicy, .write) { req, _ in
                try requireName(req.name)
                var resp = SriovV1.DeleteResponse()
                resp.affectedNodes = try await state.deletePolicy(namespace: req.namespace, name: req.name, expectedResourceVersion: req.expectedResourceVersion)
                return resp
            },
            unary(Op.applyNetwork, .write) { req, _ in
                let r = try await state.applyNetwork(req.network, expectedResourceVersion: req.expectedResourceVersion)
                var resp = SriovV1.ApplyNetworkResponse()
                resp.network = r.object
                resp.created = r.created
                return resp
            },
            unary(Op.getNetwork, .read) { req, _ in
                let ns = req.namespace.isEmpty ? defaultNetworkNamespace : req.namespace
                try requireName(req.name)
                guard let kv = try await store.get(ObjectKeys.network(ns, req.name)) else {
                    throw RPCError(code: .notFound, message: "SriovNetwork \"\(ns)/\(req.name)\" not found")
                }
                return try StoredObject.network(kv)
            },
            unary(Op.listNetworks, .read) { req, _ in
                let selector = try LabelSelector(parsing: req.labelSelector)
                let page = try await readPage(
                    store: store, prefix: ObjectKeys.networks + (req.namespace.isEmpty ? "" : req.namespace + "/"),
                    pageSize: req.pageSize, pageToken: req.pageToken, decode: StoredObject.network,
                    keep: { selector.matches($0.metadata.labels) })
                var resp = SriovV1.ListNetworksResponse()
                resp.items = page.items
                resp.nextPageToken = page.next
                resp.resourceVersion = String(page.revision)
                return resp
            },
            unary(Op.deleteNetwork, .write) { req, _ in
                try requireName(req.name)
                try await state.deleteNetwork(namespace: req.namespace, name: req.name, expectedResourceVersion: req.expectedResourceVersion)
                return SriovV1.DeleteResponse()
            },
            unary(Op.getNodeState, .read) { req, _ in
                try requireName(req.name)
                try requireOperatorNamespace(req.namespace)
                guard let kv = try await store.get(ObjectKeys.nodeState(req.name)) else {
                    throw RPCError(code: .notFound, message: "SriovNetworkNodeState \"\(operatorNamespace)/\(req.name)\" not found")
                }
                return try StoredObject.nodeState(kv)
            },
            unary(Op.listNodeStates, .read) { req, _ in
                try requireOperatorNamespace(req.namespace)
                let selector = try LabelSelector(parsing: req.labelSelector)
                let page = try await readPage(
                    store: store, prefix: ObjectKeys.nodeStates, pageSize: req.pageSize, pageToken: req.pageToken,
                    decode: StoredObject.nodeState,
                    keep: { selector.matches($0.metadata.labels.merging($0.status.nodeLabels) { a, _ in a }) })
                var resp = SriovV1.ListNodeStatesResponse()
                resp.items = page.items
                resp.nextPageToken = page.next
                resp.resourceVersion = String(page.revision)
                return resp
            },
            unary(Op.deleteNodeState, .write) { req, _ in
                try requireName(req.name)
                try requireOperatorNamespace(req.namespace)
                try await state.deleteNodeState(name: req.name, expectedResourceVersion: req.expectedResourceVersion)
                return SriovV1.DeleteResponse()
            },
            unary(Op.dryRunPolicy, .read) { req, _ in
                let (errors, result) = await state.dryRun(req.policy)
                var resp = SriovV1.DryRunPolicyResponse()
                resp.validationErrors = errors
                guard let result else { return resp }
                resp.changes = result.nodes.map { n in
                    var c = SriovV1.NodeChange()
                    c.nodeName = n.node
                    c.interfaces = n.pfs.map { pf in
                        var i = SriovV1.InterfaceChange()
                        i.pciAddress = pf.pciAddress
                        if let b = pf.before { i.before = b }
                        if let a = pf.after { i.after = a }
                        return i
                    }
                    return c
                }
                let candidate = req.policy.metadata.name
                resp.conflicts = result.conflicts.prefix(100).map { c in
                    var p = SriovV1.PolicyConflict()
                    p.reason = c.code.rawValue
                    // Oriented as the proto says: the candidate, then the stored one.
                    if c.policy != candidate, c.otherPolicy == candidate {
                        p.policy = candidate
                        p.otherPolicy = c.policy
                    } else {
                        p.policy = c.policy
                        p.otherPolicy = c.otherPolicy ?? ""
                    }
                    p.nodeName = c.node
                    p.pciAddress = c.pciAddress ?? ""
                    p.message = c.message
                    return p
                }
                return resp
            },
            unary(Op.getServerInfo, .read) { _, context in
                let caller = try Authorization.caller(context)
                var info = SriovV1.ServerInfo()
                info.version = SriovRelease.version
                info.apiVersion = CRCodec.apiVersion
                info.store = facts.store
                info.resourceVersion = String(store.currentRevision)
                info.leader = facts.isLeader
                info.replica = facts.replica
                info.startedAt = facts.startedAt
                info.callerIdentity = caller.description
                info.callerRole = caller.role.rawValue
                return info
            },
            watch(Op.watchNodeStates, prefix: ObjectKeys.nodeStates, decode: StoredObject.nodeState,
                  key: { ObjectKeys.nodeState($0) }) { type, object, rv in
                var e = SriovV1.NodeStateEvent()
                e.type = type
                if let object { e.nodeState = object }
                e.resourceVersion = rv
                return e
            },
            unary(Op.listRendered, .read) { req, _ in
                let selector = try LabelSelector(parsing: req.labelSelector)
                let page = try await readPage(
                    store: store, prefix: ObjectKeys.rendered, pageSize: req.pageSize, pageToken: req.pageToken,
                    decode: StoredObject.rendered,
                    keep: { o in (req.namespace.isEmpty || o.namespace == req.namespace) && selector.matches([:]) })
                var resp = SriovV1.ListRenderedResponse()
                resp.items = page.items
                resp.nextPageToken = page.next
                resp.resourceVersion = String(page.revision)
                return resp
            },
            watch(Op.watchRendered, prefix: ObjectKeys.rendered, decode: StoredObject.rendered, key: nil) { type, object, rv in
                var e = SriovV1.RenderedEvent()
                e.type = type
                if let object { e.object = object }
                e.resourceVersion = rv
                return e
            },
        ]
    }

    private func requireName(_ name: String) throws(RPCError) {
        if name.isEmpty { throw RPCError(code: .invalidArgument, message: "name is required") }
        if name.utf8.count > 253 { throw RPCError(code: .invalidArgument, message: "name is \(name.utf8.count) bytes; at most 253") }
        if name.utf8.contains(0x2F) { throw RPCError(code: .invalidArgument, message: "name \"\(name.prefix(64))\" contains \"/\"") }
    }

    private func requireOperatorNamespace(_ ns: String) throws(RPCError) {
        if !ns.isEmpty && ns != operatorNamespace {
            throw RPCError(code: .invalidArgument, message: "node states live in namespace \"\(operatorNamespace)\", not \"\(ns.prefix(64))\"")
        }
    }

    /// A unary route with authorization, store-error mapping and metrics.
    func unary<I, O>(_ m: MethodDescriptor<I, O>, _ access: Authorization.Access, _ body: @escaping @Sendable (I, ServerContext) async throws -> O) -> ServerRoute {
        let metrics = metrics
        let logger = logger
        return ServerRoute.unary(m) { req, context in
            try await Instrumented.run(m.method, metrics: metrics) {
                try Authorization.check(access, context, logger: logger)
                do {
                    return try await body(req, context)
                } catch {
                    throw rpcError(error)
                }
            }
        }
    }

    /// A list-then-watch stream over a key prefix: ADDED for current objects
    /// (unless resuming), a BOOKMARK, then changes from the store's log.
    func watch<O: ProtobufMessage, T: ProtobufMessage>(
        _ m: MethodDescriptor<SriovV1.WatchRequest, O>, prefix: String, decode: @escaping @Sendable (KeyValue) throws -> T,
        key: (@Sendable (String) -> String)?,
        event: @escaping @Sendable (SriovV1.NodeStateEvent.TypeEnum, T?, String) -> O
    ) -> ServerRoute {
        let metrics = metrics
        let logger = logger
        let store = store
        let shutdown = shutdown
        return ServerRoute.serverStreaming(m) { req, writer, context in
            try await Instrumented.run(m.method, metrics: metrics) {
                try Authorization.check(.read, context, logger: logger)
                let filterKey: String? = req.name.isEmpty ? nil : (key?(req.name))
                let filterName = req.name
                let wanted: @Sendable (KeyValue) -> Bool = { kv in
                    if let filterKey { return kv.key == filterKey }
                    if !filterName.isEmpty { return kv.key.hasSuffix("/" + filterName) }
                    return true
                }
                var after: Revision
                do {
                    if req.resumeFromResourceVersion.isEmpty {
                        var listAt: Revision? = nil
                        var startAfter: String? = nil
                        while true {
                            let page = try await store.list(prefix: prefix, startAfter: startAfter, limit: 1000, at: listAt)
                            listAt = page.revision
                            for kv in page.items where wanted(kv) {
                                try await writer.write(event(.added, try decode(kv), String(kv.modRevision)))
                            }
                            guard page.more, let last = page.items.last else { break }
                            startAfter = last.key
                        }
                        after = listAt ?? store.currentRevision
                    } else {
                        guard let rv = Revision(req.resumeFromResourceVersion), rv >= 0 else {
                            throw RPCError(code: .invalidArgument, message: "resume_from_resource_version \"\(req.resumeFromResourceVersion.prefix(40))\" is not a resource version")
                        }
                        if rv > store.currentRevision {
                            throw RPCError(code: .outOfRange, message: "resume_from_resource_version \(rv) is newer than the store's revision \(store.currentRevision)")
                        }
                        after = rv
                    }
                    try await writer.write(event(.bookmark, nil, String(after)))
                    let from = after
                    // Changes until the store's watch ends, or UNAVAILABLE
                    // when the controller shuts down (the client resumes).
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await e in store.watch(prefix: prefix, after: from) where wanted(e.kv) {
                                let rv = String(e.revision)
                                switch e.kind {
                                case .put:
                                    try await writer.write(event(e.previous == nil ? .added : .modified, try decode(e.kv), rv))
                                case .delete:
                                    // The object as it was, with the delete's revision.
                                    try await writer.write(event(.deleted, try decode(e.kv), rv))
                                }
                            }
                        }
                        group.addTask {
                            await shutdown.wait()
                            if shutdown.hasEnded {
                                throw RPCError(code: .unavailable, message: "the controller is shutting down; resume after the last resource_version received")
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                } catch {
                    throw rpcError(error)
                }
            }
        }
    }
}

/// Times a handler and counts its status code.
enum Instrumented {
    static func run<T>(_ method: String, metrics: ControllerMetrics, _ body: () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let value = try await body()
            metrics.recordRPC(method: method, code: .ok, duration: clock.now - start)
            return value
        } catch {
            let code = (error as? RPCError)?.code ?? (error is CancellationError ? .cancelled : .unknown)
            metrics.recordRPC(method: method, code: code, duration: clock.now - start)
            throw error
        }
    }
}
