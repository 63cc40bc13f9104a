import SriovGRPC
import SriovProto
import SriovStore
import SriovSync

/// Leader election among controller replicas through etcd: a lease plus a
/// campaign key, as etcd's own election recipe does.
///
/// A candidate grants itself a lease of ``ttl`` and keeps it alive; it is
/// the leader while the campaign key exists with its lease, created by a
/// transaction that requires the key to be absent. Work that must happen
/// once writes with ``fence``: a compare on the campaign key's mod revision,
/// so a deposed leader's write (its lease expired, another replica won) is
/// refused by etcd at once, whatever the deposed replica still believes.
/// Locally, a leader also steps down when its lease was not renewed within
/// the TTL.
public final class EtcdLeaderElection: Sendable {
    /// Where the campaign key lives (under the store's prefix).
    public static let campaignKey = "/election/leader"

    let store: EtcdStore
    /// This replica's name, stored as the campaign key's value.
    public let candidate: String
    /// The lease time: a dead leader is replaced after at most this long.
    public let ttl: Duration
    private let state = Locked(State())

    private struct State {
        var lease: Int64 = 0
        /// The campaign key's mod revision while this replica leads.
        var term: Revision?
        /// When the lease was last renewed.
        var renewed: ContinuousClock.Instant = .now
    }

    public init(store: EtcdStore, candidate: String, ttl: Duration = .seconds(5)) {
        self.store = store
        self.candidate = candidate
        self.ttl = ttl
    }

    /// The campaign key's revision while this replica leads and its lease
    /// is fresh; nil otherwise.
    public var term: Revision? {
        state.withLock { s in
            guard let t = s.term, ContinuousClock.now - s.renewed < ttl else { return nil }
            return t
        }
    }

    public var isLeader: Bool { term != nil }

    /// The compare that fences leader-only writes: it holds only while the
    /// campaign key is still the one this replica created.
    public var fence: Compare? { term.map { Compare(key: Self.campaignKey, modRevision: $0) } }

    /// Campaigns until cancelled: grants a lease, tries to create the
    /// campaign key, renews the lease every third of the TTL, and starts
    /// over (new lease) whenever renewing fails. `onChange` hears every
    /// change of leadership (true = this replica leads now).
    public func run(onChange: @escaping @Sendable (Bool) -> Void) async {
        let seconds = max(2, Int64(ttl.components.seconds))
        var leading = false
        func set(_ now: Bool) {
            if now != leading {
                leading = now
                onChange(now)
            }
        }
        while !Task.isCancelled {
            do {
                var grant = Etcdserverpb.LeaseGrantRequest()
                grant.TTL = seconds
                let lease = try await store.call(Etcdserverpb.Lease.leaseGrant, grant, idempotent: false).ID
                state.withLock {
                    $0.lease = lease
                    $0.renewed = .now
                    $0.term = nil
                }
                while !Task.isCancelled {
                    try await campaign(lease: lease)
                    set(isLeader)
                    try await Task.sleep(for: ttl / 3)
                    try await keepAlive(lease: lease)
                }
            } catch {
                state.withLock { $0.term = nil }
                set(false)
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        let lease = state.withLock { s -> Int64 in
            s.term = nil
            return s.lease
        }
        set(false)
        if lease != 0 {
            var revoke = Etcdserverpb.LeaseRevokeRequest()
            revoke.ID = lease
            _ = try? await store.call(Etcdserverpb.Lease.leaseRevoke, revoke, idempotent: true)
        }
    }

    /// Creates the campaign key with `lease` when it is absent; records the
    /// term when the key is ours.
    func campaign(lease: Int64) async throws {
        let key = store.etcdKey(Self.campaignKey)
        var cmp = Etcdserverpb.Compare()
        cmp.result = .equal
        cmp.target = .create
        cmp.key = key
        cmp.targetUnion = .createRevision(0)
        var put = Etcdserverpb.PutRequest()
        put.key = key
        put.value = Array(candidate.utf8)
        put.lease = lease
        var read = Etcdserverpb.RangeRequest()
        read.key = key
        var txn = Etcdserverpb.TxnRequest()
        txn.compare = [cmp]
        var putOp = Etcdserverpb.RequestOp()
        putOp.request = .requestPut(put)
        var readOp = Etcdserverpb.RequestOp()
        readOp.request = .requestRange(read)
        txn.success = [putOp]
        txn.failure = [readOp]
        let resp = try await store.call(Etcdserverpb.KV.txn, txn, idempotent: false)
        store.observe(resp.header)
        var term: Revision?
        if resp.succeeded {
            term = resp.header.revision
        } else if case .responseRange(let r)? = resp.responses.first?.response, let kv = r.kvs.first, kv.lease == lease {
            term = kv.modRevision
        }
        state.withLock { $0.term = term }
    }

    /// Renews the lease once over a LeaseKeepAlive stream; throws when etcd
    /// no longer knows it (TTL 0) or cannot be reached.
    func keepAlive(lease: Int64) async throws {
        var req = Etcdserverpb.LeaseKeepAliveRequest()
        req.ID = lease
        let index = store.pickEndpoint()
        let ttl = try await store.channels[index].bidirectionalStreaming(
            Etcdserverpb.Lease.leaseKeepAlive, timeout: store.options.callTimeout
        ) { writer, responses in
            try await writer.write(req)
            writer.finish()
            var it = responses.makeAsyncIterator()
            guard let r = try await it.next() else { throw StoreError(.unavailable, "etcd ended the lease keepalive") }
            store.observe(r.header)
            return r.TTL
        }
        guard ttl > 0 else { throw StoreError(.unavailable, "lease \(lease) expired") }
        state.withLock { $0.renewed = .now }
    }
}
