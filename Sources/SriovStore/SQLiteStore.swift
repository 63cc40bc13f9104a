import CSQLite
import Dispatch
import Glibc
import SriovSync

/// The embedded store: SQLite in WAL mode with `synchronous=FULL`, one
/// writer thread that commits every transaction queued meanwhile in one
/// SQLite transaction (group commit: one fsync for many acknowledged
/// writes), and a small pool of read-only connections.
///
/// Layout (schema version 1): `kv` holds each key's current value with its
/// create and mod revisions; `log` holds every change with the value before
/// it, for watches that resume from a revision and for lists read at an
/// older revision; `meta` holds the current and the compacted revision. The
/// log keeps the last ``Options/retainedRevisions`` revisions.
public final class SQLiteStore: KVStore, @unchecked Sendable {
    /// Settings with documented defaults.
    public struct Options: Sendable {
        /// Revisions of history kept for watches and paged lists. 100,000
        /// is several hours of status reports from 5,000 nodes.
        public var retainedRevisions: Int64 = 100_000
        /// Transactions committed together at most. Bounds the latency one
        /// huge batch adds to the first writer in it.
        public var maxBatch = 512
        /// Read-only connections (reads run in parallel on them).
        public var readers = 4
        /// Events a watcher may have unread before it is dropped (it then
        /// resumes from its last revision).
        public var watcherBuffer = 65_536

        public init() {}
        public static var defaults: Self { Self() }
    }

    /// The schema version this build writes and understands.
    public static let schemaVersion: Int64 = 1
    /// `PRAGMA application_id` of our databases ("SRIV").
    public static let applicationID: Int64 = 0x5352_4956
    /// The database file in the data directory.
    public static let fileName = "sriov.db"

    public let path: String
    let options: Options
    private let writer: SQLiteConnection
    private let readers: Locked<[SQLiteConnection]>
    private let readerSignal = DispatchSemaphore(value: 0)
    private let state: Locked<State>
    private let wake = DispatchSemaphore(value: 0)
    private var thread: pthread_t?
    private let durable: Atomic<Int64>
    private let compacted: Atomic<Int64>

    private struct State {
        var queue: [Pending] = []
        var nextRevision: Revision
        var closed = false
        var watchers: [Int: Watcher] = [:]
        var nextWatcher = 0
        var commitsSinceCompaction = 0
    }

    private struct Pending {
        let revision: Revision
        let transaction: Transaction
        let commit: Commit
    }

    private final class Watcher: @unchecked Sendable {
        let prefix: String
        let continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation
        /// Live events that arrived while the watcher caught up from the log;
        /// nil once it is live. Guarded by the store's state lock.
        var backlog: [WatchEvent]? = []
        var catchUpTo: Revision = 0

        init(prefix: String, continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation) {
            self.prefix = prefix
            self.continuation = continuation
        }
    }

    /// Opens (creating when absent) the database in `directory`. Refuses a
    /// file that is not ours, is damaged, or has a newer schema; never
    /// rewrites such a file.
    public init(directory: String, options: Options = .defaults) throws(StoreError) {
        self.options = options
        var st = stat()
        if stat(directory, &st) != 0 {
            throw StoreError(.unavailable, "data directory \(directory): \(String(cString: strerror(errno)))")
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            throw StoreError(.unavailable, "data directory \(directory) is not a directory")
        }
        if access(directory, W_OK | X_OK) != 0 {
            throw StoreError(.unavailable, "data directory \(directory) is not writable: \(String(cString: strerror(errno)))")
        }
        path = directory + "/" + Self.fileName
        writer = try SQLiteConnection(path: path, readOnly: false)
        let revision = try Self.migrate(writer)
        var pool: [SQLiteConnection] = []
        for _ in 0..<max(1, options.readers) {
            let r = try SQLiteConnection(path: path, readOnly: true)
            try r.exec("PRAGMA query_only=1")
            pool.append(r)
        }
        readers = Locked(pool)
        for _ in pool { readerSignal.signal() }
        durable = Atomic(revision.current)
        compacted = Atomic(revision.compacted)
        state = Locked(State(nextRevision: revision.current + 1))
        startWriter()
    }

    deinit { close() }

    public var currentRevision: Revision { durable.load(ordering: .acquiring) }
    public var compactedRevision: Revision { compacted.load(ordering: .acquiring) }

    // MARK: - schema

    private static func migrate(_ db: SQLiteConnection) throws(StoreError) -> (current: Revision, compacted: Revision) {
        // Any read of a file that is not SQLite fails here with SQLITE_NOTADB.
        let appID = try db.scalar("PRAGMA application_id") ?? 0
        let version = try db.scalar("PRAGMA user_version") ?? 0
        let tables = try db.scalar("SELECT count(*) FROM sqlite_master") ?? 0
        if appID != applicationID && !(appID == 0 && version == 0 && tables == 0) {
            throw StoreError(.corrupt, "\(db.path) is not a sriov-controller database (application_id \(appID)); refusing to touch it")
        }
        if version > schemaVersion {
            throw StoreError(.corrupt, "\(db.path) has schema version \(version), newer than this controller's \(schemaVersion); upgrade the controller")
        }
        let check = try db.statement("PRAGMA quick_check")
        if try check.step() {
            let result = check.text(0)
            if result != "ok" {
                check.reset()
                throw StoreError(.corrupt, "\(db.path) failed its integrity check: \(result.prefix(200))")
            }
        }
        check.reset()
        try db.exec("PRAGMA journal_mode=WAL")
        try db.exec("PRAGMA synchronous=FULL")
        if version < 1 {
            try db.exec("""
                BEGIN IMMEDIATE;
                CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO meta VALUES ('revision', 0), ('compacted', 0);
                CREATE TABLE kv (
                    key TEXT PRIMARY KEY, value BLOB NOT NULL,
                    create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE log (
                    rev INTEGER NOT NULL, key TEXT NOT NULL, deleted INTEGER NOT NULL,
                    value BLOB, create_rev INTEGER NOT NULL,
                    prev_value BLOB, prev_create_rev INTEGER NOT NULL, prev_mod_rev INTEGER NOT NULL,
                    PRIMARY KEY (rev, key)) WITHOUT ROWID;
                PRAGMA application_id = \(applicationID);
                PRAGMA user_version = 1;
                COMMIT;
                """)
        }
        // Later schema versions migrate forward here, one step per version.
        let current = try db.scalar("SELECT v FROM meta WHERE k = 'revision'") ?? 0
        let compacted = try db.scalar("SELECT v FROM meta WHERE k = 'compacted'") ?? 0
        return (current, compacted)
    }

    // MARK: - reads

    private func withReader<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        readerSignal.wait()
        let r = readers.withLock { $0.removeLast() }
        defer {
            readers.withLock { $0.append(r) }
            readerSignal.signal()
        }
        try r.exec("BEGIN")
        do throws(StoreError) {
            let value = try body(r)
            try r.exec("COMMIT")
            return value
        } catch {
            try? r.exec("ROLLBACK")
            throw error
        }
    }

    public func get(_ key: String) throws -> KeyValue? {
        try withReader { (r) throws(StoreError) -> KeyValue? in
            let s = try r.statement("SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1")
            s.bind(1, key)
            defer { s.reset() }
            guard try s.step() else { return nil }
            return KeyValue(key: key, value: s.blob(0), createRevision: s.int64(1), modRevision: s.int64(2))
        }
    }

    public func list(prefix: String, startAfter: String?, limit: Int, at revision: Revision?) throws -> ListPage {
        let limit = max(1, limit)
        return try withReader { (r) throws(StoreError) -> ListPage in
            let current = try r.scalar("SELECT v FROM meta WHERE k = 'revision'") ?? 0
            let compactedNow = try r.scalar("SELECT v FROM meta WHERE k = 'compacted'") ?? 0
            let at = revision ?? current
            if at > current {
                throw StoreError(.futureRevision, "revision \(at) is newer than the store's \(current)")
            }
            if at < compactedNow {
                throw StoreError(.compacted, "revision \(at) is older than the oldest kept, \(compactedNow)")
            }
            let lower = max(startAfter ?? "", prefix)
            let upper = prefixEnd(prefix)
            let s: SQLiteStatement
            if at == current {
                s = try r.statement("""
                    SELECT key, value, create_rev, mod_rev FROM kv
                    WHERE key >= ?1 AND key < ?2 AND key != ?3 ORDER BY key LIMIT ?4
                    """)
            } else {
                // Unchanged since `at`, plus the value before the first later
                // change of every key changed since (existing at `at`).
                s = try r.statement("""
                    WITH changed AS (
                        SELECT key, min(rev) AS first FROM log
                        WHERE rev > ?5 AND key >= ?1 AND key < ?2 AND key != ?3 GROUP BY key)
                    SELECT key, value, create_rev, mod_rev FROM kv
                    WHERE key >= ?1 AND key < ?2 AND key != ?3 AND mod_rev <= ?5
                    UNION ALL
                    SELECT l.key, l.prev_value, l.prev_create_rev, l.prev_mod_rev
                    FROM changed c JOIN log l ON l.rev = c.first AND l.key = c.key
                    WHERE l.prev_mod_rev > 0
                    ORDER BY 1 LIMIT ?4
                    """)
                s.bind(5, at)
            }
            s.bind(1, lower)
            s.bind(2, upper)
            s.bind(3, startAfter ?? "")
            s.bind(4, Int64(limit + 1))
            defer { s.reset() }
            var items: [KeyValue] = []
            while try s.step() {
                items.append(KeyValue(key: s.text(0), value: s.blob(1), createRevision: s.int64(2), modRevision: s.int64(3)))
            }
            let more = items.count > limit
            if more { items.removeLast() }
            return ListPage(items: items, more: more, revision: at)
        }
    }

    // MARK: - writes

    private final class Commit: PendingCommit, @unchecked Sendable {
        let assigned: Revision
        /// Known at submission: the writer thread commits in queue order.
        var revision: Revision? { assigned }
        private let state = Locked<(result: Result<Revision, StoreError>?, waiter: CheckedContinuation<Revision, any Error>?)>((nil, nil))

        init(revision: Revision) { self.assigned = revision }

        func complete(_ result: Result<Revision, StoreError>) {
            let waiter = state.withLock { s -> CheckedContinuation<Revision, any Error>? in
                s.result = result
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(with: result.mapError { $0 as any Error })
        }

        func wait() async throws -> Revision {
            try await withCheckedThrowingContinuation { c in
                let done = state.withLock { s -> Result<Revision, StoreError>? in
                    if let r = s.result { return r }
                    s.waiter = c
                    return nil
                }
                if let done { c.resume(with: done.mapError { $0 as any Error }) }
            }
        }
    }

    public func submit(_ transaction: Transaction) throws -> any PendingCommit {
        var seen = Set<String>()
        for w in transaction.writes where !seen.insert(w.key).inserted {
            throw StoreError(.invalid, "key \(w.key) is written twice in one transaction")
        }
        if transaction.writes.isEmpty {
            throw StoreError(.invalid, "a transaction needs at least one write")
        }
        let commit = try state.withLock { (s) throws(StoreError) -> Commit in
            if s.closed { throw StoreError(.unavailable, "the store is closed") }
            let c = Commit(revision: s.nextRevision)
            s.queue.append(Pending(revision: s.nextRevision, transaction: transaction, commit: c))
            s.nextRevision += 1
            return c
        }
        wake.signal()
        return commit
    }

    private func startWriter() {
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let store = Unmanaged<SQLiteStore>.fromOpaque(arg!).takeRetainedValue()
            store.writerLoop()
            return nil
        }, box.toOpaque())
        thread = t
    }

    private func writerLoop() {
        while true {
            wake.wait()
            let (batch, closed) = state.withLock { s -> ([Pending], Bool) in
                let n = min(s.queue.count, options.maxBatch)
                let b = Array(s.queue.prefix(n))
                s.queue.removeFirst(n)
                return (b, s.closed && s.queue.isEmpty)
            }
            if !batch.isEmpty {
                commit(batch)
                // More may have queued than one batch takes.
                if state.withLock({ !$0.queue.isEmpty }) { wake.signal() }
            }
            if closed && batch.isEmpty { return }
            if closed { wake.signal() }
        }
    }

    /// Commits a batch in one SQLite transaction. A transaction whose compare
    /// fails is left out (its revision stays unused); an I/O failure fails
    /// the whole batch and nothing of it is applied.
    private func commit(_ batch: [Pending]) {
        writerLock.withLock { _ in commitLocked(batch) }
    }

    private func commitLocked(_ batch: [Pending]) {
        var events: [WatchEvent] = []
        var outcomes: [Result<Revision, StoreError>] = []
        var last: Revision = 0
        do {
            try writer.exec("BEGIN IMMEDIATE")
            for p in batch {
                if let failure = try check(p.transaction.compares) {
                    outcomes.append(.failure(failure))
                    continue
                }
                events += try apply(p.transaction.writes, revision: p.revision)
                outcomes.append(.success(p.revision))
                last = p.revision
            }
            if last > 0 {
                let s = try writer.statement("UPDATE meta SET v = ?1 WHERE k = 'revision'")
                s.bind(1, last)
                try s.run()
            }
            let compactTo = try maybeCompact(upTo: last)
            try writer.exec("COMMIT")
            if let compactTo { compacted.store(compactTo, ordering: .releasing) }
        } catch {
            try? writer.exec("ROLLBACK")
            for p in batch { p.commit.complete(.failure(StoreError(.unavailable, "commit failed: \(error)"))) }
            return
        }
        if last > 0 { durable.store(last, ordering: .releasing) }
        for (p, outcome) in zip(batch, outcomes) { p.commit.complete(outcome) }
        if !events.isEmpty { publish(events) }
    }

    private func check(_ compares: [Compare]) throws(StoreError) -> StoreError? {
        for c in compares {
            let s = try writer.statement("SELECT mod_rev FROM kv WHERE key = ?1")
            s.bind(1, c.key)
            let current = try s.step() ? s.int64(0) : 0
            s.reset()
            if current != c.modRevision {
                return StoreError(
                    .compareFailed, "\(c.key) is at revision \(current), not \(c.modRevision)",
                    key: c.key, currentRevision: current)
            }
        }
        return nil
    }

    private func apply(_ writes: [WriteOp], revision: Revision) throws(StoreError) -> [WatchEvent] {
        var events: [WatchEvent] = []
        for w in writes {
            let read = try writer.statement("SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1")
            read.bind(1, w.key)
            let previous: KeyValue? = try read.step()
                ? KeyValue(key: w.key, value: read.blob(0), createRevision: read.int64(1), modRevision: read.int64(2))
                : nil
            read.reset()
            let log = try writer.statement("""
                INSERT INTO log (rev, key, deleted, value, create_rev, prev_value, prev_create_rev, prev_mod_rev)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """)
            switch w {
            case .put(let key, let value):
                let created = previous?.createRevision ?? revision
                let s = try writer.statement("INSERT OR REPLACE INTO kv (key, value, create_rev, mod_rev) VALUES (?1, ?2, ?3, ?4)")
                s.bind(1, key)
                s.bind(2, blob: value)
                s.bind(3, created)
                s.bind(4, revision)
                try s.run()
                log.bind(1, revision)
                log.bind(2, key)
                log.bind(3, Int64(0))
                log.bind(4, blob: value)
                log.bind(5, created)
                log.bind(6, blob: previous?.value)
                log.bind(7, previous?.createRevision ?? 0)
                log.bind(8, previous?.modRevision ?? 0)
                try log.run()
                events.append(WatchEvent(
                    kind: .put, kv: KeyValue(key: key, value: value, createRevision: created, modRevision: revision),
                    previous: previous))
            case .delete(let key):
                guard let previous else { continue }
                let s = try writer.statement("DELETE FROM kv WHERE key = ?1")
                s.bind(1, key)
                try s.run()
                log.bind(1, revision)
                log.bind(2, key)
                log.bind(3, Int64(1))
                log.bind(4, blob: nil)
                log.bind(5, previous.createRevision)
                log.bind(6, blob: previous.value)
                log.bind(7, previous.createRevision)
                log.bind(8, previous.modRevision)
                try log.run()
                var gone = previous
                gone.modRevision = revision
                events.append(WatchEvent(kind: .delete, kv: gone, previous: previous))
            }
        }
        return events
    }

    /// Every 1,000 commits (or a quarter of the retained window when that
    /// is smaller), drops log entries older than the retained
    /// window, inside the current transaction. Returns the new compacted
    /// revision when it moved.
    private func maybeCompact(upTo last: Revision) throws(StoreError) -> Revision? {
        let due = state.withLock { s -> Bool in
            s.commitsSinceCompaction += 1
            if s.commitsSinceCompaction < max(1, min(1_000, options.retainedRevisions / 4)) { return false }
            s.commitsSinceCompaction = 0
            return true
        }
        guard due, last - options.retainedRevisions > compactedRevision else { return nil }
        let to = last - options.retainedRevisions
        let s = try writer.statement("DELETE FROM log WHERE rev <= ?1")
        s.bind(1, to)
        try s.run()
        let m = try writer.statement("UPDATE meta SET v = ?1 WHERE k = 'compacted'")
        m.bind(1, to)
        try m.run()
        return to
    }

    /// Drops history up to `revision` now (tests and operators' maintenance).
    public func compact(upTo revision: Revision) async throws {
        let to = min(revision, currentRevision)
        try writerLock.withLock { _ throws(StoreError) in
            try writer.exec("BEGIN IMMEDIATE")
            do throws(StoreError) {
                let s = try writer.statement("DELETE FROM log WHERE rev <= ?1")
                s.bind(1, to)
                try s.run()
                let m = try writer.statement("UPDATE meta SET v = max(v, ?1) WHERE k = 'compacted'")
                m.bind(1, to)
                try m.run()
                try writer.exec("COMMIT")
            } catch {
                try? writer.exec("ROLLBACK")
                throw error
            }
        }
        compacted.store(max(compactedRevision, to), ordering: .releasing)
    }

    /// Serializes use of the writer connection between the writer thread
    /// and ``compact(upTo:)``.
    private let writerLock = Locked(())

    // MARK: - watches

    public func watch(prefix: String, after revision: Revision) -> AsyncThrowingStream<WatchEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<WatchEvent, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(options.watcherBuffer))
        let watcher = Watcher(prefix: prefix, continuation: continuation)
        let id: Int? = state.withLock { s -> Int? in
            if s.closed { return nil }
            let id = s.nextWatcher
            s.nextWatcher += 1
            s.watchers[id] = watcher
            watcher.catchUpTo = durable.load(ordering: .acquiring)
            return id
        }
        guard let id else {
            continuation.finish(throwing: StoreError(.unavailable, "the store is closed"))
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        if revision < compactedRevision {
            continuation.finish(throwing: StoreError(
                .compacted, "revision \(revision) is older than the oldest kept, \(compactedRevision)"))
            return stream
        }
        if revision > watcher.catchUpTo {
            // Nothing to replay; anything after `revision` arrives live.
            state.withLock { _ in
                let backlog = watcher.backlog ?? []
                watcher.backlog = nil
                for e in backlog where e.revision > revision { deliver(e, to: watcher, id: id) }
            }
            return stream
        }
        let upTo = watcher.catchUpTo
        Task.detached { [self] in
            do {
                try replay(prefix: prefix, after: revision, upTo: upTo, into: watcher)
            } catch {
                continuation.finish(throwing: error)
                return
            }
            state.withLock { _ in
                let backlog = watcher.backlog ?? []
                watcher.backlog = nil
                for e in backlog { deliver(e, to: watcher, id: id) }
            }
        }
        return stream
    }

    private func replay(prefix: String, after: Revision, upTo: Revision, into watcher: Watcher) throws(StoreError) {
        var from = after
        while from < upTo {
            let rows = try withReader { (r) throws(StoreError) -> [WatchEvent] in
                let s = try r.statement("""
                    SELECT rev, key, deleted, value, create_rev, prev_value, prev_create_rev, prev_mod_rev
                    FROM log WHERE rev > ?1 AND rev <= ?2 AND key >= ?3 AND key < ?4
                    ORDER BY rev, key LIMIT 2000
                    """)
                s.bind(1, from)
                s.bind(2, upTo)
                s.bind(3, prefix)
                s.bind(4, prefixEnd(prefix))
                defer { s.reset() }
                var events: [WatchEvent] = []
                while try s.step() {
                    let rev = s.int64(0)
                    let key = s.text(1)
                    let deleted = s.int64(2) != 0
                    let previous: KeyValue? = s.int64(7) > 0
                        ? KeyValue(key: key, value: s.blob(5), createRevision: s.int64(6), modRevision: s.int64(7)) : nil
                    if deleted, let previous {
                        var gone = previous
                        gone.modRevision = rev
                        events.append(WatchEvent(kind: .delete, kv: gone, previous: previous))
                    } else {
                        events.append(WatchEvent(
                            kind: .put, kv: KeyValue(key: key, value: s.blob(3), createRevision: s.int64(4), modRevision: rev),
                            previous: previous))
                    }
                }
                return events
            }
            if rows.isEmpty { return }
            // Replay whole revisions only: the page may end inside one.
            var page = rows
            if rows.count == 2000, let lastRev = rows.last?.revision, rows.first?.revision != lastRev {
                page = rows.filter { $0.revision < lastRev }
            }
            if from < compactedRevision {
                throw StoreError(.compacted, "revision \(after) was compacted while the watch caught up")
            }
            for e in page {
                if case .dropped = watcher.continuation.yield(e) {
                    throw StoreError(.watcherTooSlow, "the watcher fell more than \(options.watcherBuffer) events behind")
                }
            }
            guard let next = page.last?.revision, next > from else { return }
            from = next
        }
    }

    /// Called with the state lock held.
    private func deliver(_ event: WatchEvent, to watcher: Watcher, id: Int) {
        if case .dropped = watcher.continuation.yield(event) {
            watcher.continuation.finish(throwing: StoreError(
                .watcherTooSlow, "the watcher fell more than \(options.watcherBuffer) events behind; resume from its last revision"))
        }
    }

    private func publish(_ events: [WatchEvent]) {
        state.withLock { s in
            for (id, w) in s.watchers {
                // Events up to `catchUpTo` reach the watcher through its
                // replay: a batch published after a watch registered (its
                // commit already acknowledged) must not arrive twice.
                for e in events where e.kv.key.hasPrefix(w.prefix) && e.revision > w.catchUpTo {
                    if w.backlog != nil {
                        w.backlog!.append(e)
                    } else {
                        deliver(e, to: w, id: id)
                    }
                }
            }
        }
    }

    // MARK: - shutdown

    public func close() {
        let watchers = state.withLock { s -> [Watcher] in
            if s.closed { return [] }
            s.closed = true
            defer { s.watchers.removeAll() }
            return Array(s.watchers.values)
        }
        for w in watchers { w.continuation.finish(throwing: StoreError(.unavailable, "the store is closed")) }
        wake.signal()
        if let t = thread {
            thread = nil
            pthread_join(t, nil)
        }
    }
}
