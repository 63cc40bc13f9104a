import SriovGRPC
import SriovProto
import SriovStore
import SriovSync

/// The controller's store on an etcd cluster (v3 API over gRPC).
///
/// Keys live under ``Options/prefix``; etcd's revisions are our revisions
/// and an object's `mod_revision` is its resource version. A transaction is
/// one etcd `Txn` whose compares are `mod_revision ==` conditions (0 = the
/// key must not exist); its failure branch reads the compared keys so that a
/// refused transaction names the current revision.
///
/// Transactions are sent one at a time in the order they were submitted:
/// etcd serves the streams of one connection concurrently, and the
/// controller's state actor relies on its submissions being applied in
/// order (a later write of a node state includes the earlier one). The
/// revision of a transaction is therefore known only when it commits
/// (``PendingCommit/revision`` is nil until then).
///
/// Every endpoint has its own channel with the channel's connection backoff.
/// Reads go to the current endpoint and move on to the next one when it is
/// unreachable. A transaction is retried, on the next endpoint, only when
/// etcd cannot have applied it: the channel never sent it, or etcd refused
/// it before proposing ("no leader", "not leader", "too many requests"). A
/// transaction whose fate is unknown (the connection dropped after it was
/// sent) fails with `.unavailable` and is never acknowledged.
public final class EtcdStore: KVStore, Sendable {
    /// Settings with documented defaults.
    public struct Options: Sendable {
        /// Client endpoints, `HOST:PORT` each.
        public var endpoints: [BindTarget]
        /// TLS to etcd (client certificate, key and CA); nil = plaintext h2c.
        public var tls: TLSConfiguration?
        /// The key prefix of this controller's objects. `/sriov`: one etcd
        /// cluster can serve other applications beside us.
        public var prefix = "/sriov"
        /// Deadline of one etcd call: 5 s, longer than an etcd leader
        /// election (1 s election timeout by default) and a slow fsync.
        public var callTimeout: Duration = .seconds(5)
        /// Endpoint attempts of a read or of a transaction etcd refused
        /// before applying it: 6 (two rounds over three members).
        public var attempts = 6
        /// Reconnect backoff of each endpoint's channel: gRPC's shape with a
        /// 100 ms start and a 2 s cap, so that a restarted member is used
        /// again within seconds.
        public var backoff: ConnectionBackoff = {
            var b = ConnectionBackoff()
            b.initial = .milliseconds(100)
            b.maximum = .seconds(2)
            b.minConnectTimeout = .seconds(2)
            return b
        }()
        /// The most compares and the most writes in one transaction: etcd's
        /// `--max-txn-ops` (128 by default; raise both together).
        public var maxOperationsPerTransaction = 128
        /// Pause before a watch whose stream broke is opened again on the
        /// next endpoint (it resumes after the last revision it delivered).
        public var watchRetryDelay: Duration = .milliseconds(200)

        public init(endpoints: [BindTarget], tls: TLSConfiguration? = nil) {
            self.endpoints = endpoints
            self.tls = tls
        }
    }

    public let options: Options
    let channels: [GRPCChannel]
    /// The etcd key prefix as bytes, without a trailing slash.
    let keyPrefix: [UInt8]
    private let current = Atomic<Int>(0)
    private let latest = Atomic<Int64>(0)
    let compactedAtomic = Atomic<Int64>(0)
    private let queue: CommitQueue
    private let state = Locked(LifeState())

    private struct LifeState {
        var closed = false
        var watchTasks: [Int: Task<Void, Never>] = [:]
        var nextWatch = 0
    }

    /// Connects (lazily) to the endpoints and reads the current revision.
    ///
    /// - Throws: ``StoreError`` `.invalid` for bad options, `.unavailable`
    ///   when no endpoint answers within the call timeout.
    public init(options: Options) async throws {
        guard !options.endpoints.isEmpty else {
            throw StoreError(.invalid, "etcd endpoints: at least one HOST:PORT is needed")
        }
        var prefix = options.prefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        guard prefix.isEmpty || prefix.hasPrefix("/") else {
            throw StoreError(.invalid, "etcd prefix \"\(options.prefix)\" must start with \"/\"")
        }
        self.options = options
        keyPrefix = Array(prefix.utf8)
        var channels: [GRPCChannel] = []
        for endpoint in options.endpoints {
            var config = ClientConfiguration(
                target: endpoint, security: options.tls.map { .tls($0) } ?? .insecurePlaintext)
            config.backoff = options.backoff
            config.maxReceiveMessageSize = 64 * 1024 * 1024
            do {
                channels.append(try GRPCChannel(configuration: config))
            } catch {
                throw StoreError(.invalid, "etcd endpoint \(endpoint): \(error)")
            }
        }
        self.channels = channels
        queue = CommitQueue()
        queue.start(self)
        _ = try await readRevision()
    }

    deinit { close() }

    public var currentRevision: Revision { latest.load(ordering: .acquiring) }
    public var compactedRevision: Revision { compactedAtomic.load(ordering: .acquiring) }
    public var maxOperationsPerTransaction: Int? { options.maxOperationsPerTransaction }

    /// Records a revision etcd reported (headers only move forward).
    func observe(_ header: Etcdserverpb.ResponseHeader) {
        latest.max(header.revision)
    }

    // MARK: - keys

    func etcdKey(_ key: String) -> [UInt8] { keyPrefix + Array(key.utf8) }

    func storeKey(_ key: [UInt8]) -> String {
        String(decoding: key.dropFirst(keyPrefix.count), as: UTF8.self)
    }

    /// The first key after every key with `prefix`.
    static func rangeEnd(_ prefix: [UInt8]) -> [UInt8] {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return [0]
    }

    func keyValue(_ kv: Mvccpb.KeyValue) -> KeyValue {
        KeyValue(key: storeKey(kv.key), value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision)
    }

    // MARK: - calls

    /// The endpoint to use first: the current one, unless its channel is
    /// backing off and another one is not.
    func pickEndpoint() -> Int {
        let start = current.load(ordering: .relaxed)
        for i in 0..<channels.count {
            let index = (start + i) % channels.count
            if channels[index].connectivity != .transientFailure {
                if i != 0 { current.store(index, ordering: .relaxed) }
                return index
            }
        }
        return start
    }

    func moveOn(from index: Int) {
        _ = current.compareExchange(expected: index, desired: (index + 1) % channels.count, ordering: .relaxed)
    }

    /// Whether etcd refused a call before it could have been applied.
    static func refusedBeforeApply(_ e: RPCError) -> Bool {
        switch e.code {
        case .resourceExhausted: return e.message.contains("too many requests")
        case .unavailable:
            return e.message.contains("no leader") || e.message.contains("not leader") || e.message.contains("not capable")
        default: return false
        }
    }

    /// A unary call with endpoint failover. `idempotent` calls (reads) are
    /// retried after any transport failure; others only when etcd cannot
    /// have applied them.
    func call<I, O>(_ method: MethodDescriptor<I, O>, _ request: I, idempotent: Bool, timeout: Duration? = nil, attempts: Int? = nil) async throws -> O {
        var lastError: RPCError?
        for attempt in 0..<max(1, attempts ?? options.attempts) {
            if state.withLock({ $0.closed }) { throw StoreError(.unavailable, "the etcd store is closed") }
            let index = pickEndpoint()
            let channel = channels[index]
            let wasBackingOff = channel.connectivity == .transientFailure
            do {
                return try await channel.unary(method, request, timeout: timeout ?? options.callTimeout)
            } catch let e as RPCError {
                lastError = e
                let transport = e.code == .unavailable || e.code == .deadlineExceeded
                // The channel's own connection errors: the call never left.
                let neverSent = e.code == .unavailable && e.message.hasPrefix("connecting to")
                let retry = Self.refusedBeforeApply(e) || (transport && (idempotent || wasBackingOff)) || neverSent
                guard retry else { throw Self.storeError(e, endpoint: options.endpoints[index]) }
                moveOn(from: index)
                if attempt > 0 { try? await Task.sleep(for: .milliseconds(50 * min(attempt, 10))) }
            }
        }
        throw StoreError(.unavailable, "etcd: no endpoint answered: \(lastError?.message ?? "no attempt")")
    }

    /// Maps an etcd status to a store error.
    static func storeError(_ e: RPCError, endpoint: BindTarget) -> StoreError {
        if e.code == .outOfRange && e.message.contains("compacted") {
            return StoreError(.compacted, "etcd \(endpoint): \(e.message)")
        }
        if e.code == .outOfRange && e.message.contains("future revision") {
            return StoreError(.futureRevision, "etcd \(endpoint): \(e.message)")
        }
        if e.code == .invalidArgument {
            return StoreError(.invalid, "etcd \(endpoint): \(e.message)")
        }
        return StoreError(.unavailable, "etcd \(endpoint): \(e.code): \(e.message)")
    }

    /// Whether etcd serves a linearizable read (it needs a quorum) within
    /// `timeout`, trying each endpoint once: the replica's health check.
    public func checkQuorum(timeout: Duration) async -> Bool {
        var r = Etcdserverpb.RangeRequest()
        r.key = keyPrefix + [0x2F]
        r.rangeEnd = Self.rangeEnd(r.key)
        r.countOnly = true
        guard let resp = try? await call(Etcdserverpb.KV.range, r, idempotent: true, timeout: timeout, attempts: channels.count) else {
            return false
        }
        observe(resp.header)
        return true
    }

    /// Reads the current revision from etcd (a linearizable count-only
    /// range of our prefix).
    @discardableResult
    public func readRevision() async throws -> Revision {
        var r = Etcdserverpb.RangeRequest()
        r.key = keyPrefix + [0x2F]
        r.rangeEnd = Self.rangeEnd(r.key)
        r.countOnly = true
        let resp = try await call(Etcdserverpb.KV.range, r, idempotent: true)
        observe(resp.header)
        return resp.header.revision
    }

    // MARK: - KVStore

    public func get(_ key: String) async throws -> KeyValue? {
        var r = Etcdserverpb.RangeRequest()
        r.key = etcdKey(key)
        let resp = try await call(Etcdserverpb.KV.range, r, idempotent: true)
        observe(resp.header)
        return resp.kvs.first.map(keyValue)
    }

    public func list(prefix: String, startAfter: String?, limit: Int, at revision: Revision?) async throws -> ListPage {
        let limit = max(1, limit)
        let start = etcdKey(prefix)
        var r = Etcdserverpb.RangeRequest()
        r.key = startAfter.map { etcdKey($0) + [0] } ?? start
        r.rangeEnd = Self.rangeEnd(start)
        r.limit = Int64(limit)
        r.revision = revision ?? 0
        let resp = try await call(Etcdserverpb.KV.range, r, idempotent: true)
        observe(resp.header)
        return ListPage(items: resp.kvs.map(keyValue), more: resp.more, revision: revision ?? resp.header.revision)
    }

    public func submit(_ transaction: Transaction) throws -> any PendingCommit {
        if transaction.writes.isEmpty {
            throw StoreError(.invalid, "a transaction needs at least one write")
        }
        var seen = Set<String>()
        for w in transaction.writes where !seen.insert(w.key).inserted {
            throw StoreError(.invalid, "key \(w.key) is written twice in one transaction")
        }
        let limit = options.maxOperationsPerTransaction
        if transaction.writes.count > limit || transaction.compares.count > limit {
            throw StoreError(.invalid, "a transaction of \(transaction.writes.count) writes and \(transaction.compares.count) compares is larger than etcd takes (\(limit) of each, --max-txn-ops)")
        }
        if state.withLock({ $0.closed }) { throw StoreError(.unavailable, "the etcd store is closed") }
        return queue.enqueue(transaction)
    }

    /// Runs one transaction on etcd; called by the commit queue in order.
    func apply(_ transaction: Transaction) async throws -> Revision {
        var txn = Etcdserverpb.TxnRequest()
        for c in transaction.compares {
            var cmp = Etcdserverpb.Compare()
            cmp.result = .equal
            cmp.target = .mod
            cmp.key = etcdKey(c.key)
            cmp.targetUnion = .modRevision(c.modRevision)
            txn.compare.append(cmp)
            var read = Etcdserverpb.RangeRequest()
            read.key = cmp.key
            read.keysOnly = true
            var op = Etcdserverpb.RequestOp()
            op.request = .requestRange(read)
            txn.failure.append(op)
        }
        for w in transaction.writes {
            var op = Etcdserverpb.RequestOp()
            switch w {
            case .put(let key, let value):
                var put = Etcdserverpb.PutRequest()
                put.key = etcdKey(key)
                put.value = value
                op.request = .requestPut(put)
            case .delete(let key):
                var del = Etcdserverpb.DeleteRangeRequest()
                del.key = etcdKey(key)
                op.request = .requestDeleteRange(del)
            }
            txn.success.append(op)
        }
        let resp = try await call(Etcdserverpb.KV.txn, txn, idempotent: false)
        observe(resp.header)
        if resp.succeeded { return resp.header.revision }
        for (c, r) in zip(transaction.compares, resp.responses) {
            guard case .responseRange(let range)? = r.response else { continue }
            let now = range.kvs.first?.modRevision ?? 0
            if now != c.modRevision {
                let what = now == 0 ? "it does not exist" : "its mod revision is \(now)"
                throw StoreError(.compareFailed, "key \(c.key): expected mod revision \(c.modRevision) but \(what)", key: c.key, currentRevision: now)
            }
        }
        throw StoreError(.compareFailed, "a compare of the transaction did not hold")
    }

    /// Drops etcd's history before `revision` (as ``SQLiteStore`` does with
    /// its log); later lists and watches from before it are `.compacted`.
    public func compact(upTo revision: Revision) async throws {
        var r = Etcdserverpb.CompactionRequest()
        r.revision = revision
        r.physical = true
        let resp = try await call(Etcdserverpb.KV.compact, r, idempotent: true)
        observe(resp.header)
        compactedAtomic.max(revision)
    }

    public func watch(prefix: String, after revision: Revision) -> AsyncThrowingStream<WatchEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<WatchEvent, any Error>.makeStream()
        let id: Int? = state.withLock { s in
            if s.closed { return nil }
            s.nextWatch += 1
            return s.nextWatch
        }
        guard let id else {
            continuation.finish(throwing: StoreError(.unavailable, "the etcd store is closed"))
            return stream
        }
        let task = Task { [self] in
            await self.runWatch(prefix: prefix, after: revision, continuation)
            _ = self.state.withLock { $0.watchTasks.removeValue(forKey: id) }
        }
        state.withLock { $0.watchTasks[id] = task }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    public func close() {
        let tasks: [Task<Void, Never>] = state.withLock { s in
            if s.closed { return [] }
            s.closed = true
            let t = Array(s.watchTasks.values)
            s.watchTasks.removeAll()
            return t
        }
        for t in tasks { t.cancel() }
        queue.close()
        for c in channels { c.close() }
    }
}

extension Atomic where Value == Int64 {
    /// Raises the value to `v` when `v` is larger.
    func max(_ v: Int64) {
        var old = load(ordering: .relaxed)
        while v > old {
            let (exchanged, now) = compareExchange(expected: old, desired: v, ordering: .acquiringAndReleasing)
            if exchanged { return }
            old = now
        }
    }
}
