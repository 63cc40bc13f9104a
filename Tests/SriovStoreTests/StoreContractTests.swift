import Foundation
import SriovStore
import SriovStoreEtcd
import SriovTestSupport
import Testing

/// A store backend under test: a fresh store, and how to compact it.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, etcd

    var testDescription: String { rawValue }

    /// A store, and the etcd member behind it (its own, stopped by PID
    /// when the test ends).
    struct Opened {
        let store: any KVStore
        let cluster: EtcdCluster?
        func close() { store.close() }
    }

    /// Whether the backend can run here (etcd needs Debian's etcd-server).
    var available: Bool { self == .sqlite || EtcdCluster.available }

    func open() async throws -> Opened {
        switch self {
        case .sqlite:
            return Opened(store: try SQLiteStore(directory: try RepoPaths.temporaryDirectory().path), cluster: nil)
        case .etcd:
            let cluster = try await EtcdCluster(size: 1)
            var options = EtcdStore.Options(endpoints: cluster.endpoints)
            options.prefix = "/contract"
            return Opened(store: try await EtcdStore(options: options), cluster: cluster)
        }
    }

    func compact(_ store: any KVStore, upTo revision: Revision) async throws {
        switch store {
        case let s as SQLiteStore: try await s.compact(upTo: revision)
        case let s as EtcdStore: try await s.compact(upTo: revision)
        default: Issue.record("no compaction for \(type(of: store))")
        }
    }
}

/// The store contract every backend keeps: revisions, compare-and-put,
/// malformed transactions, lists at a revision, watches from a revision,
/// compaction, and concurrent writers. The same test body runs against
/// SQLite and against a real etcd member on loopback.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct StoreContractTests {
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let backends = Backend.allCases.filter(\.available)

    @Test(arguments: backends)
    func revisionsIncreaseAndModRevisionsFollowWrites(_ backend: Backend) async throws {
        let opened = try await backend.open()
        let store = opened.store
        defer { opened.close() }
        let before = store.currentRevision
        let r1 = try await store.commit(Transaction(writes: [.put(key: "/a/1", value: bytes("one"))]))
        let r2 = try await store.commit(Transaction(writes: [.put(key: "/a/2", value: bytes("two")), .put(key: "/b/1", value: [])]))
        let r3 = try await store.commit(Transaction(writes: [.put(key: "/a/1", value: bytes("uno"))]))
        #expect(before < r1 && r1 < r2 && r2 < r3)
        #expect(store.currentRevision == r3)
        let a1 = try #require(try await store.get("/a/1"))
        #expect(a1.value == bytes("uno"))
        #expect(a1.createRevision == r1)
        #expect(a1.modRevision == r3)
        #expect(try await store.get("/b/1")?.value == [])
        #expect(try await store.get("/missing") == nil)
    }

    @Test(arguments: backends)
    func compareFailureAppliesNothingAndNamesTheCurrentRevision(_ backend: Backend) async throws {
        let opened = try await backend.open()
        let store = opened.store
        defer { opened.close() }
        let r1 = try await store.commit(Transaction(compares: [Compare(key: "/k", modRevision: 0)], writes: [.put(key: "/k", value: bytes("v1"))]))
        do {
            try await store.commit(Transaction(
                compares: [Compare(key: "/k", modRevision: 0)],
                writes: [.put(key: "/k", value: bytes("v2")), .put(key: "/other", value: bytes("x"))]))
            Issue.record("a stale compare succeeded")
        } catch let e as StoreError {
            #expect(e.code == .compareFailed)
            #expect(e.key == "/k")
            #expect(e.currentRevision == r1)
        }
        #expect(try await store.get("/k")?.value == bytes("v1"))
        #expect(try await store.get("/other") == nil)
        let r2 = try await store.commit(Transaction(compares: [Compare(key: "/k", modRevision: r1)], writes: [.put(key: "/k", value: bytes("v2"))]))
        #expect(try await store.get("/k")?.modRevision == r2)
        // A compare on a key that must exist but does not.
        await #expect { try await store.commit(Transaction(compares: [Compare(key: "/absent", modRevision: r2)], writes: [.delete(key: "/absent")])) }
            throws: { ($0 as? StoreError)?.currentRevision == 0 }
    }

    @Test(arguments: backends)
    func malformedTransactionsAreRefused(_ backend: Backend) async throws {
        let opened = try await backend.open()
        let store = opened.store
        defer { opened.close() }
        #expect { try store.submit(Transaction(writes: [])) } throws: { ($0 as? StoreError)?.code == .invalid }
        #expect { try store.submit(Transaction(writes: [.put(key: "/x", value: []), .delete(key: "/x")])) } throws: { error in
            let e = error as? StoreError
            return e?.code == .invalid && e?.message.contains("/x") == true
        }
    }

    @Test(arguments: backends)
    func pagedListsStayAtTheirRevision(_ backend: Backend) async throws {
        let opened = try await backend.open()
        let store = opened.store
        defer { opened.close() }
        for i in 0..<25 {
            try await store.commit(Transaction(writes: [.put(key: String(format: "/n/%03d", i), value: bytes("v\(i)"))]))
        }
        try await store.commit(Transaction(writes: [.put(key: "/o/zzz", value: [])]))
        let first = try await store.list(prefix: "/n/", startAfter: nil, limit: 10, at: nil)
        #expect(first.items.count == 10 && first.more)
        // Writes after the first page: a change, a delete, a create.
        try await store.commit(Transaction(writes: [.put(key: "/n/015", value: bytes("changed"))]))
        try await store.commit(Transaction(writes: [.delete(key: "/n/016")]))
        try await store.commit(Transaction(writes: [.put(key: "/n/0155", value: bytes("new"))]))
        let second = try await store.list(prefix: "/n/", startAfter: first.items.last!.key, limit: 10, at: first.revision)
        #expect(second.revision == first.revision)
        #expect(second.items.map(\.key) == (10..<20).map { String(format: "/n/%03d", $0) })
        #expect(second.items.first { $0.key == "/n/015" }?.value == bytes("v15"))
        let third = try await store.list(prefix: "/n/", startAfter: second.items.last!.key, limit: 10, at: first.revision)
        #expect(third.items.count == 5 && !third.more)
        let now = try await store.list(prefix: "/n/", startAfter: nil, limit: 100, at: nil)
        #expect(now.items.count == 25)
        #expect(now.items.contains { $0.key == "/n/0155" } && !now.items.contains { $0.key == "/n/016" })
        await #expect { try await store.list(prefix: "/n/", startAfter: nil, limit: 1, at: store.currentRevision + 5) }
            throws: { ($0 as? StoreError)?.code == .futureRevision }
    }

    @Test(arguments: backends)
    func watchResumesFromARevisionThenFollowsLiveChanges(_ backend: Backend) async throws {
        let opened = try await backend.open()
        let store = opened.store
        defer { opened.close() }
        let r1 = try await store.commit(Transaction(writes: [.put(key: "/w/a", value: bytes("1"))]))
        try await store.commit(Transaction(writes: [.put(key: "/x/ignored", value: bytes("1"))]))
        try await store.commit(Transaction(writes: [.put(key: "/w/a", value: bytes("2"))]))
        let deleted = try await store.commit(Transaction(writes: [.delete(key: "/w/a")]))
        var it = store.watch(prefix: "/w/", after: r1).makeAsyncIterator()
        let e1 = try #require(try await it.next())
        #expect(e1.kind == .put && e1.kv.key == "/w/a" && e1.kv.value == bytes("2") && e1.previous?.value == bytes("1"))
        let e2 = try #require(try await it.next())
        #expect(e2.kind == .delete && e2.kv.key == "/w/a" && e2.previous?.value == bytes("2"))
        #expect(e2.revision == deleted)
        let live = try await store.commit(Transaction(writes: [.put(key: "/w/b", value: bytes("3"))]))
        let e3 = try #require(try await it.next())
        #expect(e3.kind == .put && e3.revision == live && e3.previous == nil)
    }

    @Test(arguments: backends)
    func watchAndListFromACompactedRevisionAreRefused(_ backend: Backend) async throws {
        let opened = try await backend.open()
        let store = opened.store
        defer { opened.close() }
        var revs: [Revision] = []
        for i in 0..<5 { revs.append(try await store.commit(Transaction(writes: [.put(key: "/c/\(i)", value: [])]))) }
        try await backend.compact(store, upTo: revs[2])
        #expect(store.compactedRevision == revs[2])
        var it = store.watch(prefix: "/c/", after: revs[0]).makeAsyncIterator()
        await #expect { _ = try await it.next() } throws: { ($0 as? StoreError)?.code == .compacted }
        await #expect { try await store.list(prefix: "/c/", startAfter: nil, limit: 10, at: revs[1]) }
            throws: { ($0 as? StoreError)?.code == .compacted }
        var ok = store.watch(prefix: "/c/", after: revs[2]).makeAsyncIterator()
        #expect(try await ok.next()?.kv.key == "/c/3")
    }

    @Test(arguments: backends)
    func concurrentWritersAreAllAcknowledgedWithDistinctRevisions(_ backend: Backend) async throws {
        let opened = try await backend.open()
        let store = opened.store
        defer { opened.close() }
        let revisions = try await withThrowingTaskGroup(of: Revision.self) { group in
            for i in 0..<200 {
                group.addTask { try await store.commit(Transaction(writes: [.put(key: "/g/\(i)", value: [UInt8(i & 0xFF)])])) }
            }
            return try await group.reduce(into: [Revision]()) { $0.append($1) }
        }
        #expect(Set(revisions).count == 200)
        let all = try await store.listAll(prefix: "/g/")
        #expect(all.items.count == 200)
        #expect(all.items.allSatisfy { revisions.contains($0.modRevision) })
    }

    @Test(arguments: backends)
    func submissionOrderIsCommitOrder(_ backend: Backend) async throws {
        // The controller's state actor submits a node's later state after
        // its earlier one without waiting in between; the later must win.
        let opened = try await backend.open()
        let store = opened.store
        defer { opened.close() }
        var pending: [any PendingCommit] = []
        for i in 0..<50 {
            pending.append(try store.submit(Transaction(writes: [.put(key: "/order/node", value: bytes("state-\(i)"))])))
        }
        var last: Revision = 0
        for p in pending {
            let r = try await p.wait()
            #expect(r > last)
            last = r
        }
        #expect(try await store.get("/order/node")?.value == bytes("state-49"))
    }
}
