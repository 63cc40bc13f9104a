/// A store revision: one counter for the whole store, increased by every
/// committed transaction, as in etcd. An object's resource version is the
/// revision of its last write.
public typealias Revision = Int64

/// One stored key and its value, with the revisions that describe its history.
public struct KeyValue: Sendable, Hashable {
    /// The key, e.g. `/policies/sriov-network-operator/policy-1`.
    public var key: String
    /// The value (a serialized protobuf message for this project's objects).
    public var value: [UInt8]
    /// Revision of the transaction that created the key.
    public var createRevision: Revision
    /// Revision of the transaction that last wrote it.
    public var modRevision: Revision

    public init(key: String, value: [UInt8], createRevision: Revision, modRevision: Revision) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
    }
}

/// A condition of a transaction: the key's `modRevision` must equal a value
/// (0 = the key must not exist).
public struct Compare: Sendable, Hashable {
    public var key: String
    public var modRevision: Revision

    public init(key: String, modRevision: Revision) {
        self.key = key
        self.modRevision = modRevision
    }
}

/// A write of a transaction.
public enum WriteOp: Sendable, Hashable {
    case put(key: String, value: [UInt8])
    case delete(key: String)

    public var key: String {
        switch self {
        case .put(let key, _), .delete(let key): key
        }
    }
}

/// A transaction: every compare must hold, then every write is applied
/// atomically under one new revision. A key may appear in at most one write.
public struct Transaction: Sendable, Hashable {
    public var compares: [Compare]
    public var writes: [WriteOp]

    public init(compares: [Compare] = [], writes: [WriteOp]) {
        self.compares = compares
        self.writes = writes
    }
}

/// One change seen by a watch.
public struct WatchEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case put, delete }
    /// Put (create or update) or delete.
    public var kind: Kind
    /// The key after the change; for a delete, the key as it was before it,
    /// with `modRevision` set to the delete's revision.
    public var kv: KeyValue
    /// The key before the change; nil when the put created it.
    public var previous: KeyValue?
    /// The revision of the change.
    public var revision: Revision { kv.modRevision }

    public init(kind: Kind, kv: KeyValue, previous: KeyValue?) {
        self.kind = kind
        self.kv = kv
        self.previous = previous
    }
}

/// A page of a list, read at one revision.
public struct ListPage: Sendable {
    /// Keys in ascending byte order.
    public var items: [KeyValue]
    /// Whether keys follow the last one.
    public var more: Bool
    /// The revision the page was read at.
    public var revision: Revision

    public init(items: [KeyValue], more: Bool, revision: Revision) {
        self.items = items
        self.more = more
        self.revision = revision
    }
}

/// A store failure with a code callers map to RPC statuses.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A compare of the transaction did not hold.
        public static let compareFailed = Code(rawValue: "compareFailed")
        /// The revision asked for is older than the retained history.
        public static let compacted = Code(rawValue: "compacted")
        /// The revision asked for is newer than the store's.
        public static let futureRevision = Code(rawValue: "futureRevision")
        /// The store cannot be used (closed, I/O error, disk full).
        public static let unavailable = Code(rawValue: "unavailable")
        /// The store's files are damaged or from a newer schema.
        public static let corrupt = Code(rawValue: "corrupt")
        /// A transaction or argument is malformed.
        public static let invalid = Code(rawValue: "invalid")
        /// A watcher fell too far behind and was dropped.
        public static let watcherTooSlow = Code(rawValue: "watcherTooSlow")
    }

    public var code: Code
    public var message: String
    /// For `compareFailed`: the key and its current modRevision (0 = absent).
    public var key: String?
    public var currentRevision: Revision?

    public init(_ code: Code, _ message: String, key: String? = nil, currentRevision: Revision? = nil) {
        self.code = code
        self.message = message
        self.key = key
        self.currentRevision = currentRevision
    }

    public var description: String { message }
}

/// A commit that was submitted in order and becomes durable later.
///
/// `submit` assigns the revision at once, so a caller that serializes its
/// submissions (the controller's state actor) keeps their order while many
/// of them wait for one group commit together.
public protocol PendingCommit: Sendable {
    /// The revision the transaction will have once it is durable, when the
    /// backend assigns it at submission (SQLite); nil when it is known only
    /// once the transaction commits (etcd), in which case ``wait()`` gives it.
    var revision: Revision? { get }
    /// Returns when the transaction is on disk (or in the quorum); throws
    /// when it failed, in which case nothing of it was applied.
    func wait() async throws -> Revision
}

/// The controller's persistence: a small key-value store with revisions,
/// transactions, lists at a revision and watches from a revision.
///
/// Its shape is etcd's v3 KV (revisions, mod revisions, compare-and-put,
/// range at a revision, watch from a revision) so that a backend on etcd
/// implements it directly; the embedded default is ``SQLiteStore``, the
/// replicated one `EtcdStore` (target `SriovStoreEtcd`). Reads are `async`
/// because a networked backend answers them over the wire.
public protocol KVStore: AnyObject, Sendable {
    /// The revision of the last durable transaction.
    var currentRevision: Revision { get }
    /// The oldest revision a watch or a paged list can still start after.
    var compactedRevision: Revision { get }
    /// The most compares, and the most writes, one transaction may hold (nil:
    /// no limit). etcd refuses a larger transaction (`--max-txn-ops`, 128 by
    /// default); a caller with more to write splits it.
    var maxOperationsPerTransaction: Int? { get }

    /// The current value of a key (durable state).
    func get(_ key: String) async throws -> KeyValue?
    /// Keys with `prefix` after `startAfter`, at most `limit`, as they were at
    /// `revision` (nil = now). Throws `.compacted` when the history needed is
    /// gone.
    func list(prefix: String, startAfter: String?, limit: Int, at revision: Revision?) async throws -> ListPage
    /// Orders a transaction; see ``PendingCommit``.
    func submit(_ transaction: Transaction) throws -> any PendingCommit
    /// Changes under `prefix` with revisions after `revision`, in order, as
    /// they become durable. Throws `.compacted` (through the stream) when
    /// `revision` is older than the retained history.
    func watch(prefix: String, after revision: Revision) -> AsyncThrowingStream<WatchEvent, any Error>
    /// Stops accepting work; pending commits finish first.
    func close()
}

extension KVStore {
    /// No limit unless the backend has one.
    public var maxOperationsPerTransaction: Int? { nil }

    /// Submits and waits.
    @discardableResult
    public func commit(_ transaction: Transaction) async throws -> Revision {
        try await submit(transaction).wait()
    }

    /// Every key under `prefix` at the current revision (all pages).
    public func listAll(prefix: String) async throws -> (items: [KeyValue], revision: Revision) {
        var items: [KeyValue] = []
        var after: String? = nil
        var revision: Revision? = nil
        while true {
            let page = try await list(prefix: prefix, startAfter: after, limit: 5000, at: revision)
            items += page.items
            revision = page.revision
            guard page.more, let last = page.items.last else { return (items, page.revision) }
            after = last.key
        }
    }
}

/// The first key after every key with `prefix` (its exclusive upper bound).
public func prefixEnd(_ prefix: String) -> String {
    var bytes = Array(prefix.utf8)
    while let last = bytes.last {
        if last < 0xFF {
            bytes[bytes.count - 1] = last + 1
            return String(decoding: bytes, as: UTF8.self)
        }
        bytes.removeLast()
    }
    return "\u{10FFFF}"
}
