import Logging
import SriovAPI
import SriovGRPC
import SriovProto
import SriovRender
import SriovStore

/// The controller's one writer path.
///
/// Every mutation (an operator's apply or delete, an agent's inventory or
/// status) runs here in turn: validate, update the in-memory render state
/// (only the nodes the change can affect are re-rendered), bump the
/// generation of each node whose spec changed, and submit one store
/// transaction holding the object and everything derived from it. The
/// submission order is the actor's order; the caller then waits for the
/// commit to be durable *outside* the actor's turn (actors are reentrant),
/// so concurrent writers share one group commit. Configs are pushed to
/// agents and answers returned only after the commit is durable.
///
/// If a commit fails, the in-memory state (which ran ahead of the disk) is
/// rebuilt from the store before the next mutation.
public actor ControllerState {
    /// Settings.
    public struct Options: Sendable {
        /// Namespace of policies and node states (the operator's namespace).
        public var operatorNamespace = "sriov-network-operator"
        /// Namespace of networks when a request leaves it empty.
        public var defaultNetworkNamespace = "default"
        /// Renderer settings (resource prefix, supported NICs).
        public var render: RenderOptions = .defaults
        /// How stale `status.lastSeenTime` may get before an unchanged
        /// inventory snapshot refreshes it with a write (5 minutes: the
        /// default rescan is every 30 s, and a write per rescan per node
        /// would be most of the store's traffic).
        public var lastSeenRefreshSeconds: Int64 = 300
        /// Policies the store holds at most (each is rendered against every
        /// node it selects; this keeps an Apply storm from exhausting
        /// memory). The same bound as the offline renderer's.
        public var maxPolicies = DecodeLimits.defaults.maxStoredPolicies
        /// Networks the store holds at most.
        public var maxNetworks = DecodeLimits.defaults.maxStoredNetworks

        public init() {}
        public static var defaults: Self { Self() }
    }

    let store: any KVStore
    let options: Options
    let fanout: ConfigFanout
    let metrics: ControllerMetrics
    let logger: Logger

    var render: RenderState
    var policies: [String: SriovV1.SriovNetworkNodePolicy] = [:]
    var networks: [String: SriovV1.SriovNetwork] = [:]
    var nodes: [String: SriovV1.SriovNetworkNodeState] = [:]
    var rendered: [String: SriovV1.RenderedObject] = [:]
    var needsReload = false
    /// Revisions this replica committed and has not yet seen come back
    /// through the store's watch (the follower skips them).
    var committedRevisions = Set<Revision>()
    /// Whether this replica follows the store's watch (several replicas).
    var following = false
    /// The oldest revision the last load read at: the follower's start.
    var loadedRevision: Revision = 0

    /// Loads everything from the store and renders it once; writes whatever
    /// the render changed (a new controller version may render differently).
    public init(store: any KVStore, options: Options = .defaults, fanout: ConfigFanout, metrics: ControllerMetrics, logger: Logger) async throws {
        self.store = store
        self.options = options
        self.fanout = fanout
        self.metrics = metrics
        self.logger = logger
        self.render = RenderState(options: options.render)
        try await reload()
    }

    // MARK: - loading

    /// Rebuilds the in-memory state from the store and writes what the render
    /// changed.
    func reload() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        var policies: [String: SriovV1.SriovNetworkNodePolicy] = [:]
        var networks: [String: SriovV1.SriovNetwork] = [:]
        var nodes: [String: SriovV1.SriovNetworkNodeState] = [:]
        var rendered: [String: SriovV1.RenderedObject] = [:]
        // Each kind is read at its own revision; the follower starts after
        // the oldest of them and skips what the cache already holds.
        var readAt: [Revision] = []
        let policyList = try await store.listAll(prefix: ObjectKeys.policies)
        readAt.append(policyList.revision)
        for kv in policyList.items {
            let p = try StoredObject.policy(kv)
            policies[p.name] = p
        }
        let networkList = try await store.listAll(prefix: ObjectKeys.networks)
        readAt.append(networkList.revision)
        for kv in networkList.items {
            let n = try StoredObject.network(kv)
            networks[RenderState.key(n)] = n
        }
        let nodeList = try await store.listAll(prefix: ObjectKeys.nodeStates)
        readAt.append(nodeList.revision)
        for kv in nodeList.items {
            let n = try StoredObject.nodeState(kv)
            nodes[n.metadata.name] = n
        }
        let renderedList = try await store.listAll(prefix: ObjectKeys.rendered)
        readAt.append(renderedList.revision)
        for kv in renderedList.items {
            rendered[kv.key] = try StoredObject.rendered(kv)
        }
        loadedRevision = readAt.min() ?? 0
        self.policies = policies
        self.networks = networks
        self.nodes = nodes
        self.rendered = rendered
        syncCounts = [:]
        for n in nodes.values { syncCounts[Self.syncKey(n), default: 0] += 1 }
        render = RenderState(
            policies: policies.values.map(Self.unversioned),
            networks: networks.values.map(Self.unversioned),
            nodes: nodes.values.map { RenderNode(name: $0.metadata.name, labels: $0.status.nodeLabels, interfaces: $0.status.interfaces) },
            options: options.render)
        needsReload = false
        logger.info("state loaded", metadata: [
            "policies": "\(policies.count)", "networks": "\(networks.count)", "nodes": "\(nodes.count)",
            "revision": "\(store.currentRevision)", "duration": "\(clock.now - started)",
        ])
        let written = try await writeRenderDifferences(fence: nil)
        if written > 0 {
            logger.notice("wrote what the render changed", metadata: ["objects": "\(written)"])
        }
        updateSyncGauges()
    }

    /// Writes the node specs and rendered objects where the stored ones
    /// differ from the render of the stored policies, networks and
    /// inventories; returns how many. Nothing differs unless the renderer
    /// changed (a new release) or a replica died between the parts of a
    /// split commit.
    @discardableResult
    func writeRenderDifferences(fence: Compare?) async throws -> Int {
        var m = Mutation(now: Meta.now())
        collect(nodes: Set(render.outputs.keys).union(nodes.keys), networks: Set(render.attachments.keys).union(renderedNetworkKeys()), into: &m)
        let count = m.nodes.count + m.rendered.count
        guard count > 0 else { return 0 }
        m.fence = fence
        _ = try await commit(&m)
        return count
    }

    /// Leader work with several replicas: repairs derived objects left behind
    /// by a replica that died between the parts of a split commit (see
    /// ``writeRenderDifferences(fence:)``), fenced by the leader's term.
    /// Returns how many objects it wrote.
    public func repairDerived(fence: Compare?) async -> Int {
        do {
            try await reloadIfNeeded()
            let written = try await writeRenderDifferences(fence: fence)
            if written > 0 {
                logger.notice("repaired derived objects that differed from the render", metadata: ["objects": "\(written)"])
            }
            return written
        } catch {
            logger.info("derived-object repair skipped", metadata: ["error": "\(error)"])
            return 0
        }
    }

    func renderedNetworkKeys() -> [String] {
        rendered.keys.filter { $0.hasPrefix(ObjectKeys.renderedNADs) }.map { String($0.dropFirst(ObjectKeys.renderedNADs.count)) }
    }

    private func reloadIfNeeded() async throws {
        if needsReload {
            logger.warning("rebuilding state from the store after a failed commit")
            try await reload()
        }
    }

    // MARK: - mutations

    /// What one mutation writes and what it changes in memory once durable.
    struct Mutation {
        let now: GoogleProtobuf.Timestamp
        var compares: [Compare] = []
        /// A compare every part of a split commit carries (the leader's
        /// term for leader work).
        var fence: Compare?
        var writes: [WriteOp] = []
        var nodes: [String: SriovV1.SriovNetworkNodeState?] = [:]
        var rendered: [String: SriovV1.RenderedObject?] = [:]
        var pushes: [SriovV1.NodeConfig] = []
        var affectedNodes: [String] = []

        init(now: GoogleProtobuf.Timestamp) { self.now = now }
    }

    /// The node state as this mutation sees it.
    private func node(_ name: String, _ m: Mutation) -> SriovV1.SriovNetworkNodeState? {
        if let pending = m.nodes[name] { return pending }
        return nodes[name]
    }

    private func newNodeState(_ name: String, now: GoogleProtobuf.Timestamp) -> SriovV1.SriovNetworkNodeState {
        var n = SriovV1.SriovNetworkNodeState()
        n.metadata.name = name
        n.metadata.namespace = options.operatorNamespace
        n.metadata.generation = 1
        n.metadata.creationTimestamp = now
        n.metadata.uid = Meta.uuid()
        return n
    }

    /// Folds the render outputs of these nodes and networks into `m`: node
    /// specs whose rendered value changed (generation + 1, pushed), device
    /// plugin configs and NADs whose text changed, and removals.
    private func collect(nodes names: some Sequence<String>, networks keys: some Sequence<String>, into m: inout Mutation) {
        for name in names {
            let output = render.outputs[name]
            guard var state = node(name, m) else { continue }
            var changed = false
            if let spec = output?.spec, spec != state.spec {
                state.spec = spec
                state.metadata.generation += 1
                changed = true
            }
            let dpKey = ObjectKeys.renderedDevicePlugin(node: name)
            if let output {
                var obj = SriovV1.RenderedObject()
                obj.kind = "DevicePluginConfig"
                obj.name = name
                obj.json = output.devicePluginConfig.jsonText
                setRendered(dpKey, obj, &m)
            }
            if changed {
                m.nodes[name] = state
                m.affectedNodes.append(name)
                m.pushes.append(config(for: state, devicePlugin: output?.devicePluginConfig.jsonText ?? ""))
            }
        }
        for key in keys {
            let storeKey = ObjectKeys.renderedNAD(networkKey: key)
            switch render.attachments[key] {
            case .success(let nad):
                var obj = SriovV1.RenderedObject()
                obj.kind = "NetworkAttachmentDefinition"
                obj.namespace = nad.namespace
                obj.name = nad.name
                obj.json = GoJSON.encode(nad.crValue)
                obj.source = key
                setRendered(storeKey, obj, &m)
            case .failure(let error):
                var obj = SriovV1.RenderedObject()
                obj.kind = "NetworkAttachmentDefinition"
                let network = networks[key]
                obj.namespace = network.map { $0.spec.networkNamespace.isEmpty ? $0.metadata.namespace : $0.spec.networkNamespace } ?? ""
                obj.name = network?.metadata.name ?? ""
                obj.error = error.message
                obj.source = key
                setRendered(storeKey, obj, &m)
            case nil:
                setRendered(storeKey, nil, &m)
            }
        }
    }

    private func setRendered(_ key: String, _ obj: SriovV1.RenderedObject?, _ m: inout Mutation) {
        var current: SriovV1.RenderedObject?
        if let pending = m.rendered[key] { current = pending } else { current = rendered[key] }
        current?.resourceVersion = ""
        if current == obj { return }
        m.rendered[key] = .some(obj)
    }

    func config(for state: SriovV1.SriovNetworkNodeState, devicePlugin: String) -> SriovV1.NodeConfig {
        var c = SriovV1.NodeConfig()
        c.nodeName = state.metadata.name
        c.generation = state.metadata.generation
        c.spec = state.spec
        c.devicePluginConfig = devicePlugin
        return c
    }

    /// Turns the mutation's objects into writes, submits them, waits for
    /// durability, and only then publishes: caches hold the committed
    /// objects, agents get their configs.
    /// Commits a mutation. A store with a transaction size limit (etcd) gets
    /// a mutation too large for it in parts: the first holds the caller's
    /// compares and writes (the object applied or deleted) and as many
    /// derived writes (node states, rendered objects) as fit, the rest follow
    /// in order. The derived writes are a pure function of what is stored, so
    /// when a later part fails the state is rebuilt from the store, which
    /// writes them again; the first part's revision is returned.
    private func commit(_ m: inout Mutation) async throws -> Revision {
        guard let limit = store.maxOperationsPerTransaction else { return try await commitPart(&m) }
        let perNodeCompare = following ? 1 : 0
        let fenceCount = m.fence == nil ? 0 : 1
        if m.writes.count + m.nodes.count + m.rendered.count <= limit
            && m.compares.count + fenceCount + perNodeCompare * m.nodes.count <= limit {
            return try await commitPart(&m)
        }
        var parts = Self.split(m, limit: limit, perNodeCompare: perNodeCompare)
        metrics.splitCommits.increment()
        let revision = try await commitPart(&parts[0])
        for i in 1..<parts.count {
            do {
                _ = try await commitPart(&parts[i])
            } catch {
                logger.warning("a later part of a split commit failed; rebuilding from the store", metadata: [
                    "part": "\(i + 1)/\(parts.count)", "error": "\(error)",
                ])
                needsReload = true
                if !repairingSplit {
                    repairingSplit = true
                    defer { repairingSplit = false }
                    try? await reloadIfNeeded()
                }
                break
            }
        }
        return revision
    }

    /// Whether a failed split commit is being repaired (one reload, not a
    /// chain of them).
    var repairingSplit = false

    /// `m` in parts of at most `limit` writes and `limit` compares each (a
    /// node-state write adds `perNodeCompare` compares); pushes go with their
    /// node's part.
    static func split(_ m: Mutation, limit: Int, perNodeCompare: Int) -> [Mutation] {
        var first = Mutation(now: m.now)
        first.fence = m.fence
        first.compares = m.compares
        first.writes = m.writes
        first.affectedNodes = m.affectedNodes
        var parts = [first]
        func fenced(_ p: Mutation) -> Mutation {
            var p = p
            p.fence = m.fence
            return p
        }
        let fenceCount = m.fence == nil ? 0 : 1
        func hasRoom(_ p: Mutation, compares: Int) -> Bool {
            p.writes.count + p.nodes.count + p.rendered.count < limit
                && p.compares.count + fenceCount + perNodeCompare * p.nodes.count + compares <= limit
        }
        for (name, state) in m.nodes.sorted(by: { $0.key < $1.key }) {
            if !hasRoom(parts[parts.count - 1], compares: perNodeCompare) { parts.append(fenced(Mutation(now: m.now))) }
            parts[parts.count - 1].nodes.updateValue(state, forKey: name)
        }
        for (key, object) in m.rendered.sorted(by: { $0.key < $1.key }) {
            if !hasRoom(parts[parts.count - 1], compares: 0) { parts.append(fenced(Mutation(now: m.now))) }
            parts[parts.count - 1].rendered.updateValue(object, forKey: key)
        }
        for push in m.pushes {
            let index = parts.firstIndex { $0.nodes.keys.contains(push.nodeName) } ?? 0
            parts[index].pushes.append(push)
        }
        return parts
    }

    /// One transaction of a mutation.
    private func commitPart(_ m: inout Mutation) async throws -> Revision {
        for (name, state) in m.nodes {
            if let state {
                m.writes.append(.put(key: ObjectKeys.nodeState(name), value: StoredObject.bytes(state)))
            } else {
                m.writes.append(.delete(key: ObjectKeys.nodeState(name)))
            }
        }
        for (key, obj) in m.rendered {
            if let obj {
                m.writes.append(.put(key: key, value: StoredObject.bytes(obj)))
            } else {
                m.writes.append(.delete(key: key))
            }
        }
        if following {
            // Several replicas write node states: each write holds only if
            // the node is as this replica last saw it (a refused write makes
            // it reload; agents' reports are then retried).
            let compared = Set(m.compares.map(\.key))
            for name in m.nodes.keys where !compared.contains(ObjectKeys.nodeState(name)) {
                guard let cached = nodes[name] else {
                    m.compares.append(Compare(key: ObjectKeys.nodeState(name), modRevision: 0))
                    continue
                }
                if let rv = Int64(cached.metadata.resourceVersion) {
                    m.compares.append(Compare(key: ObjectKeys.nodeState(name), modRevision: rv))
                }
            }
        }
        if let fence = m.fence { m.compares.append(fence) }
        let clock = ContinuousClock()
        let changedAt = clock.now
        let pending: any PendingCommit
        do {
            pending = try store.submit(Transaction(compares: m.compares, writes: m.writes))
        } catch {
            needsReload = true
            throw error
        }
        // SQLite assigns the revision at submission; etcd only at commit,
        // in which case objects are reflected without a resource version
        // now and stamped once the commit is known.
        let assigned = pending.revision
        reflect(m, resourceVersion: assigned.map { String($0) } ?? "")
        let pushes = m.pushes
        let revision: Revision
        do {
            revision = try await pending.wait()
        } catch {
            needsReload = true
            throw error
        }
        if assigned == nil { stampCommitted(m, resourceVersion: String(revision)) }
        if following { committedRevisions.insert(revision) }
        metrics.commitDuration.record(clock.now - changedAt)
        for p in pushes {
            fanout.push(ConfigFanout.Offer(config: p, changedAt: changedAt))
        }
        updateSyncGauges()
        return revision
    }

    /// Optimistically reflects a submitted write so that the next mutation
    /// in line sees it; a failed commit triggers a reload.
    private func reflect(_ m: Mutation, resourceVersion rv: String) {
        for (name, state) in m.nodes {
            if var state {
                state.metadata.resourceVersion = rv
                setCachedNode(name, state)
            } else {
                setCachedNode(name, nil)
            }
        }
        for (key, obj) in m.rendered {
            if var obj {
                obj.resourceVersion = rv
                rendered[key] = obj
            } else {
                rendered[key] = nil
            }
        }
    }

    /// Node states by sync status, kept as nodes change ("None" = never synced).
    var syncCounts: [String: Int] = [:]

    static func syncKey(_ n: SriovV1.SriovNetworkNodeState) -> String {
        n.status.syncStatus.isEmpty ? "None" : n.status.syncStatus
    }

    /// Replaces a cached node state, keeping the sync-status counts.
    func setCachedNode(_ name: String, _ state: SriovV1.SriovNetworkNodeState?) {
        if let old = nodes[name] { syncCounts[Self.syncKey(old), default: 0] -= 1 }
        nodes[name] = state
        if let state { syncCounts[Self.syncKey(state), default: 0] += 1 }
    }

    /// Gives the committed resource version to the cached objects this
    /// mutation wrote, unless a later mutation has replaced them meanwhile.
    private func stampCommitted(_ m: Mutation, resourceVersion rv: String) {
        for (name, state) in m.nodes {
            guard var state, var cached = nodes[name], cached.metadata.resourceVersion.isEmpty else { continue }
            state.metadata.resourceVersion = ""
            cached.metadata.resourceVersion = ""
            if cached == state { nodes[name]?.metadata.resourceVersion = rv }
        }
        for (key, obj) in m.rendered {
            guard var obj, var cached = rendered[key], cached.resourceVersion.isEmpty else { continue }
            obj.resourceVersion = ""
            cached.resourceVersion = ""
            if cached == obj { rendered[key]?.resourceVersion = rv }
        }
    }

    func updateSyncGauges() {
        metrics.setSyncCounts(syncCounts)
    }

    private func timedRender(_ change: RenderChange) -> RenderDelta {
        let clock = ContinuousClock()
        let start = clock.now
        let delta = render.apply(change)
        metrics.renderDuration.record(clock.now - start)
        return delta
    }

    // MARK: - policies

    /// Result of an apply.
    public struct ApplyResult<Object: Sendable>: Sendable {
        public var object: Object
        public var created: Bool
        public var affectedNodes: [String]
    }

    /// Checks `expected` ("" = any, "0" = absent) against the stored version.
    private func checkExpected(_ expected: String, current: String?, what: String, allowZero: Bool = true) throws(RPCError) {
        if expected.isEmpty { return }
        guard let want = Int64(expected), want >= 0 else {
            throw RPCError(code: .invalidArgument, message: "expected_resource_version \"\(expected.prefix(40))\" is not a resource version (decimal digits)")
        }
        if want == 0 && !allowZero {
            throw RPCError(code: .invalidArgument, message: "expected_resource_version \"0\" (must not exist) makes no sense for a delete")
        }
        let have = current ?? "0"
        if String(want) != have {
            let now = current.map { "its current resource_version is \($0)" } ?? "it does not exist"
            throw RPCError(code: .aborted, message: "\(what) was changed: expected_resource_version \(expected) but \(now)")
        }
    }

    /// Applies a policy (validated and defaulted).
    public func applyPolicy(_ input: SriovV1.SriovNetworkNodePolicy, expectedResourceVersion: String) async throws -> ApplyResult<SriovV1.SriovNetworkNodePolicy> {
        try await reloadIfNeeded()
        var policy = try normalizedPolicy(input)
        let name = policy.metadata.name
        let what = "SriovNetworkNodePolicy \"\(policy.metadata.namespace)/\(name)\""
        let old = policies[name]
        try checkExpected(expectedResourceVersion, current: old?.metadata.resourceVersion, what: what)
        if old == nil && policies.count >= options.maxPolicies {
            throw RPCError(code: .resourceExhausted, message: "\(what): the store holds the maximum of \(options.maxPolicies) policies")
        }
        Self.carryMetadata(into: &policy.metadata, from: old?.metadata, specChanged: old?.spec != policy.spec)
        if let old, Self.unversioned(old) == policy {
            return ApplyResult(object: old, created: false, affectedNodes: [])
        }
        // Render in place (a copy of the whole render state per write would
        // cost more than the write); a refused policy is rendered out again,
        // which restores the same outputs (rendering is deterministic).
        let delta = timedRender(.upsertPolicy(policy))
        let conflicts = delta.changedNodes.flatMap { render.outputs[$0]?.conflicts ?? [] }.filter { $0.involves(policy: name) }
        if !conflicts.isEmpty {
            _ = render.apply(old.map { RenderChange.upsertPolicy(Self.unversioned($0)) } ?? .removePolicy(name: name))
            throw RPCError(code: .failedPrecondition, message: Self.describe(conflicts, what: what))
        }
        var m = Mutation(now: Meta.now())
        m.compares = [Compare(key: ObjectKeys.policy(policy.metadata.namespace, name), modRevision: Int64(old?.metadata.resourceVersion ?? "0") ?? 0)]
        m.writes = [.put(key: ObjectKeys.policy(policy.metadata.namespace, name), value: StoredObject.bytes(policy))]
        collect(nodes: delta.changedNodes, networks: [], into: &m)
        policies[name] = policy
        let revision = try await commit(&m)
        policy.metadata.resourceVersion = String(revision)
        if policies[name]?.metadata.uid == policy.metadata.uid { policies[name]?.metadata.resourceVersion = String(revision) }
        return ApplyResult(object: policy, created: old == nil, affectedNodes: m.affectedNodes.sorted())
    }

    /// A policy as the render state holds it (without resource version).
    static func unversioned(_ p: SriovV1.SriovNetworkNodePolicy) -> SriovV1.SriovNetworkNodePolicy {
        var c = p
        c.metadata.resourceVersion = ""
        return c
    }

    /// A network as the render state holds it (without resource version).
    static func unversioned(_ n: SriovV1.SriovNetwork) -> SriovV1.SriovNetwork {
        var c = n
        c.metadata.resourceVersion = ""
        return c
    }

    /// The output-only metadata of an applied object: generation (1 when
    /// new, + 1 when the spec changed), creation time and uid carried over
    /// from the stored version or started, and no resource version (the
    /// store's revision gives it).
    static func carryMetadata(into meta: inout SriovV1.ObjectMeta, from old: SriovV1.ObjectMeta?, specChanged: Bool) {
        if let old {
            meta.generation = specChanged ? old.generation + 1 : old.generation
            meta.creationTimestamp = old.creationTimestamp
            meta.uid = old.uid
        } else {
            meta.generation = 1
            meta.creationTimestamp = Meta.now()
            meta.uid = Meta.uuid()
        }
        meta.resourceVersion = ""
    }

    /// Conflicts as one message: each conflicting pair once, at most 10, then
    /// a count.
    static func describe(_ conflicts: [RenderConflict], what: String) -> String {
        var seen = Set<String>()
        var lines: [String] = []
        for c in conflicts.sorted() where seen.insert("\(c.code)|\(c.node)|\(c.pciAddress ?? "")|\(c.policy)|\(c.otherPolicy ?? "")").inserted {
            lines.append(c.description)
        }
        var text = "\(what) conflicts with the stored policies: " + lines.prefix(10).joined(separator: "; ")
        if lines.count > 10 { text += "; and \(lines.count - 10) more" }
        return text
    }

    private func normalizedPolicy(_ input: SriovV1.SriovNetworkNodePolicy) throws(RPCError) -> SriovV1.SriovNetworkNodePolicy {
        var policy = input
        if policy.metadata.namespace.isEmpty { policy.metadata.namespace = options.operatorNamespace }
        Defaults.apply(to: &policy)
        do {
            try Validation.check(policy)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
        if policy.metadata.namespace != options.operatorNamespace {
            throw RPCError(code: .invalidArgument, message: "SriovNetworkNodePolicy \"\(policy.metadata.namespace)/\(policy.metadata.name)\": metadata.namespace: policies are honoured only in the operator's namespace \"\(options.operatorNamespace)\"")
        }
        return policy
    }

    /// Validation errors and the effect of a candidate policy.
    public func dryRun(_ input: SriovV1.SriovNetworkNodePolicy) -> (errors: [String], result: PolicyDryRun?) {
        let policy: SriovV1.SriovNetworkNodePolicy
        do {
            policy = try normalizedPolicy(input)
        } catch {
            return (error.message.split(separator: "\n").map(String.init), nil)
        }
        return ([], render.dryRun(policy: policy))
    }

    /// Deletes a policy.
    public func deletePolicy(namespace: String, name: String, expectedResourceVersion: String) async throws -> [String] {
        try await reloadIfNeeded()
        let ns = namespace.isEmpty ? options.operatorNamespace : namespace
        let what = "SriovNetworkNodePolicy \"\(ns)/\(name)\""
        guard let old = policies[name], old.metadata.namespace == ns else {
            throw RPCError(code: .notFound, message: "\(what) not found")
        }
        try checkExpected(expectedResourceVersion, current: old.metadata.resourceVersion, what: what, allowZero: false)
        let delta = timedRender(.removePolicy(name: name))
        var m = Mutation(now: Meta.now())
        let key = ObjectKeys.policy(ns, name)
        m.compares = [Compare(key: key, modRevision: Int64(old.metadata.resourceVersion) ?? 0)]
        m.writes = [.delete(key: key)]
        collect(nodes: delta.changedNodes, networks: [], into: &m)
        policies[name] = nil
        _ = try await commit(&m)
        return m.affectedNodes.sorted()
    }

    // MARK: - networks

    public func applyNetwork(_ input: SriovV1.SriovNetwork, expectedResourceVersion: String) async throws -> ApplyResult<SriovV1.SriovNetwork> {
        try await reloadIfNeeded()
        var network = input
        if network.metadata.namespace.isEmpty { network.metadata.namespace = options.defaultNetworkNamespace }
        Defaults.apply(to: &network)
        do {
            try Validation.check(network)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
        let key = RenderState.key(network)
        let what = "SriovNetwork \"\(key)\""
        let old = networks[key]
        try checkExpected(expectedResourceVersion, current: old?.metadata.resourceVersion, what: what)
        if old == nil && networks.count >= options.maxNetworks {
            throw RPCError(code: .resourceExhausted, message: "\(what): the store holds the maximum of \(options.maxNetworks) networks")
        }
        Self.carryMetadata(into: &network.metadata, from: old?.metadata, specChanged: old?.spec != network.spec)
        if let old, Self.unversioned(old) == network {
            return ApplyResult(object: old, created: false, affectedNodes: [])
        }
        let delta = timedRender(.upsertNetwork(network))
        var m = Mutation(now: Meta.now())
        let storeKey = ObjectKeys.network(network.metadata.namespace, network.metadata.name)
        m.compares = [Compare(key: storeKey, modRevision: Int64(old?.metadata.resourceVersion ?? "0") ?? 0)]
        m.writes = [.put(key: storeKey, value: StoredObject.bytes(network))]
        networks[key] = network
        collect(nodes: [], networks: Set(delta.changedNetworks).union([key]), into: &m)
        let revision = try await commit(&m)
        network.metadata.resourceVersion = String(revision)
        if networks[key]?.metadata.uid == network.metadata.uid { networks[key]?.metadata.resourceVersion = String(revision) }
        return ApplyResult(object: network, created: old == nil, affectedNodes: [])
    }

    public func deleteNetwork(namespace: String, name: String, expectedResourceVersion: String) async throws {
        try await reloadIfNeeded()
        let ns = namespace.isEmpty ? options.defaultNetworkNamespace : namespace
        let key = ns + "/" + name
        let what = "SriovNetwork \"\(key)\""
        guard let old = networks[key] else { throw RPCError(code: .notFound, message: "\(what) not found") }
        try checkExpected(expectedResourceVersion, current: old.metadata.resourceVersion, what: what, allowZero: false)
        let delta = timedRender(.removeNetwork(namespace: ns, name: name))
        var m = Mutation(now: Meta.now())
        let storeKey = ObjectKeys.network(ns, name)
        m.compares = [Compare(key: storeKey, modRevision: Int64(old.metadata.resourceVersion) ?? 0)]
        m.writes = [.delete(key: storeKey)]
        networks[key] = nil
        collect(nodes: [], networks: Set(delta.changedNetworks).union([key]), into: &m)
        _ = try await commit(&m)
    }

    // MARK: - nodes

    /// Stores an agent's inventory snapshot; re-renders the node when its
    /// labels or PFs changed. Returns the node's generation afterwards.
    @discardableResult
    public func reportInventory(node name: String, labels: [String: String], interfaces: [SriovV1.InterfaceExt]) async throws -> Int64 {
        try await retryingConflicts { try await self.storeInventory(node: name, labels: labels, interfaces: interfaces) }
    }

    private func storeInventory(node name: String, labels: [String: String], interfaces: [SriovV1.InterfaceExt]) async throws -> Int64 {
        try await reloadIfNeeded()
        let now = Meta.now()
        var m = Mutation(now: now)
        let existing = nodes[name]
        var state = existing ?? newNodeState(name, now: now)
        let changed = existing == nil || state.status.nodeLabels != labels || state.status.interfaces != interfaces
        let stale = now.seconds - state.status.lastSeenTime.seconds >= options.lastSeenRefreshSeconds
        if !changed && !stale { return state.metadata.generation }
        state.status.nodeLabels = labels
        state.status.interfaces = interfaces
        state.status.lastSeenTime = now
        m.nodes[name] = state
        if changed {
            let delta = timedRender(.upsertNode(RenderNode(name: name, labels: labels, interfaces: interfaces)))
            collect(nodes: Set(delta.changedNodes).union([name]), networks: [], into: &m)
        }
        if existing == nil, !m.pushes.contains(where: { $0.nodeName == name }), let created = m.nodes[name] ?? nil {
            // A new node state starts at generation 1 even when no policy
            // gives it a spec; an agent already watching holds generation 0
            // and must get generation 1 to acknowledge, or its state would
            // never report the current generation.
            m.pushes.append(config(for: created, devicePlugin: render.outputs[name]?.devicePluginConfig.jsonText ?? ""))
        }
        _ = try await commit(&m)
        return nodes[name]?.metadata.generation ?? 0
    }

    /// Stores an agent's status report.
    @discardableResult
    public func reportStatus(_ report: SriovV1.StatusReport) async throws -> Revision {
        try await retryingConflicts { try await self.storeStatus(report) }
    }

    /// Runs an agent's report again (at most 3 times) when another replica
    /// changed the node meanwhile: the refused commit made this replica
    /// reload, so the next attempt starts from the stored node.
    private func retryingConflicts<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let e as StoreError where e.code == .compareFailed && following && attempt < 3 {
                attempt += 1
                logger.debug("node changed through another replica; retrying", metadata: ["key": "\(e.key ?? "")"])
            }
        }
    }

    private func storeStatus(_ report: SriovV1.StatusReport) async throws -> Revision {
        try await reloadIfNeeded()
        let allowed = ["InProgress", "Succeeded", "Failed"]
        guard allowed.contains(report.syncStatus) else {
            throw RPCError(code: .invalidArgument, message: "sync_status \"\(report.syncStatus.prefix(40))\" is not one of InProgress, Succeeded, Failed")
        }
        if report.syncStatus != "Failed" && !report.lastSyncError.isEmpty {
            throw RPCError(code: .invalidArgument, message: "last_sync_error is set but sync_status is \(report.syncStatus), not Failed")
        }
        if report.lastSyncError.utf8.count > 32_768 {
            throw RPCError(code: .invalidArgument, message: "last_sync_error is \(report.lastSyncError.utf8.count) bytes; at most 32768")
        }
        let now = Meta.now()
        var state = nodes[report.nodeName] ?? newNodeState(report.nodeName, now: now)
        if report.generation < 0 || report.generation > state.metadata.generation {
            throw RPCError(code: .failedPrecondition, message: "node \"\(report.nodeName)\": generation \(report.generation) is not one the controller sent (current generation \(state.metadata.generation))")
        }
        var m = Mutation(now: now)
        state.status.syncStatus = report.syncStatus
        state.status.lastSyncError = report.lastSyncError
        state.status.observedGeneration = report.generation
        state.status.lastSeenTime = now
        let interfacesChanged = !report.interfaces.isEmpty && report.interfaces != state.status.interfaces
        if interfacesChanged { state.status.interfaces = report.interfaces }
        m.nodes[report.nodeName] = state
        if interfacesChanged || nodes[report.nodeName] == nil {
            let delta = timedRender(.upsertNode(RenderNode(name: report.nodeName, labels: state.status.nodeLabels, interfaces: state.status.interfaces)))
            collect(nodes: Set(delta.changedNodes).union([report.nodeName]), networks: [], into: &m)
        }
        return try await commit(&m)
    }

    /// Deletes a decommissioned node's state.
    public func deleteNodeState(name: String, expectedResourceVersion: String) async throws {
        try await reloadIfNeeded()
        let what = "SriovNetworkNodeState \"\(options.operatorNamespace)/\(name)\""
        guard let old = nodes[name] else { throw RPCError(code: .notFound, message: "\(what) not found") }
        try checkExpected(expectedResourceVersion, current: old.metadata.resourceVersion, what: what, allowZero: false)
        _ = timedRender(.removeNode(name: name))
        var m = Mutation(now: Meta.now())
        m.compares = [Compare(key: ObjectKeys.nodeState(name), modRevision: Int64(old.metadata.resourceVersion) ?? 0)]
        m.nodes[name] = .some(nil)
        setRendered(ObjectKeys.renderedDevicePlugin(node: name), nil, &m)
        _ = try await commit(&m)
    }

    /// Deletes the node states whose agent has not reported for
    /// `staleAfterSeconds` (by `status.lastSeenTime`, or the creation time of
    /// a node never seen), skipping nodes with an agent connected to this
    /// replica. Each delete compares the node's mod revision (a node that
    /// reported meanwhile stays) and `fence` (the leader's compare with
    /// several replicas, so that a deposed leader deletes nothing). Returns
    /// the names deleted; stops at the first refused fence.
    ///
    /// The caller must keep `staleAfterSeconds` well above
    /// ``Options/lastSeenRefreshSeconds``: a live node's `lastSeenTime` is
    /// only refreshed that often.
    public func collectStaleNodeStates(staleAfterSeconds: Int64, fence: Compare?) async -> [String] {
        do {
            try await reloadIfNeeded()
        } catch {
            logger.warning("node-state collection skipped: cannot reload the stored state", metadata: ["error": "\(error)"])
            return []
        }
        let now = Meta.now()
        func lastSeen(_ n: SriovV1.SriovNetworkNodeState) -> Int64 {
            max(n.status.lastSeenTime.seconds, n.metadata.creationTimestamp.seconds)
        }
        let candidates = nodes.values
            .filter { now.seconds - lastSeen($0) >= staleAfterSeconds }
            .map(\.metadata.name).sorted()
        var collected: [String] = []
        for name in candidates {
            // Looked up again: an earlier commit in this loop awaited.
            guard let old = nodes[name], now.seconds - lastSeen(old) >= staleAfterSeconds,
                  !fanout.isConnected(node: name), let rv = Int64(old.metadata.resourceVersion) else { continue }
            _ = timedRender(.removeNode(name: name))
            var m = Mutation(now: now)
            m.compares = [Compare(key: ObjectKeys.nodeState(name), modRevision: rv)] + (fence.map { [$0] } ?? [])
            m.nodes[name] = .some(nil)
            setRendered(ObjectKeys.renderedDevicePlugin(node: name), nil, &m)
            do {
                _ = try await commit(&m)
                collected.append(name)
                metrics.nodeStatesCollected.increment()
                logger.notice("garbage-collected the node state of a node not seen for \(now.seconds - lastSeen(old)) s", metadata: [
                    "sriov.node": "\(name)", "lastSeenTime": "\(old.status.lastSeenTime.seconds)", "threshold": "\(staleAfterSeconds)",
                ])
            } catch let e as StoreError where e.code == .compareFailed {
                logger.info("node state not collected: it changed, or this replica no longer leads", metadata: ["sriov.node": "\(name)"])
                if fence != nil { break }
            } catch {
                logger.warning("node state not collected", metadata: ["sriov.node": "\(name)", "error": "\(error)"])
            }
        }
        return collected
    }

    /// The config a node's agent gets first on WatchConfig.
    public func currentConfig(node name: String) -> SriovV1.NodeConfig {
        guard let state = nodes[name] else {
            var c = SriovV1.NodeConfig()
            c.nodeName = name
            return c
        }
        return config(for: state, devicePlugin: render.outputs[name]?.devicePluginConfig.jsonText ?? "")
    }

    /// Subscribes a node's config stream with its current config first, in
    /// the actor's turn so that no push falls between the two.
    public func subscribeConfig(node name: String) -> ConfigFanout.Subscription {
        fanout.subscribe(node: name, initial: ConfigFanout.Offer(config: currentConfig(node: name), changedAt: ContinuousClock().now))
    }

    /// The number of policies, networks and nodes held (for tests and logs).
    public var counts: (policies: Int, networks: Int, nodes: Int) { (policies.count, networks.count, nodes.count) }
}
