import Foundation
import SriovStore
import SriovTestSupport
import Testing

/// The embedded store's contract: revisions, compare-and-put, lists at a
/// revision, watches from a revision, durability across reopen, and refusal
/// of files it does not understand.
@Suite(.timeLimit(.minutes(1)))
struct SQLiteStoreTests {
    func open(_ dir: URL, _ options: SQLiteStore.Options = .defaults) throws -> SQLiteStore {
        try SQLiteStore(directory: dir.path, options: options)
    }

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func revisionsIncreaseAndModRevisionsFollowWrites() async throws {
        let dir = try RepoPaths.temporaryDirectory()
        let store = try open(dir)
        defer { store.close() }
        #expect(store.currentRevision == 0)
        let r1 = try await store.commit(Transaction(writes: [.put(key: "/a/1", value: bytes("one"))]))
        let r2 = try await store.commit(Transaction(writes: [.put(key: "/a/2", value: bytes("two")), .put(key: "/b/1", value: [])]))
        let r3 = try await store.commit(Transaction(writes: [.put(key: "/a/1", value: bytes("uno"))]))
        #expect(r1 < r2 && r2 < r3)
        #expect(store.currentRevision == r3)
        let a1 = try #require(try store.get("/a/1"))
        #expect(a1.value == bytes("uno"))
        #expect(a1.createRevision == r1)
        #expect(a1.modRevision == r3)
        #expect(try store.get("/b/1")?.value == [])
        #expect(try store.get("/missing") == nil)
    }

    @Test func compareFailureAppliesNothingAndNamesTheCurrentRevision() async throws {
        let dir = try RepoPaths.temporaryDirectory()
        let store = try open(dir)
        defer { store.close() }
        let r1 = try await store.commit(Transaction(compares: [Compare(key: "/k", modRevision: 0)], writes: [.put(key: "/k", value: bytes("v1"))]))
        do {
            try await store.commit(Transaction(
                compares: [Compare(key: "/k", modRevision: 0)],
                writes: [.put(key: "/k", value: bytes("v2")), .put(key: "/other", value: bytes("x"))]))
            Issue.record("a stale compare succeeded")
        } catch let e as StoreError {
            #expect(e.code == .compareFailed)
            #expect(e.currentRevision == r1)
        }
        #expect(try store.get("/k")?.value == bytes("v1"))
        #expect(try store.get("/other") == nil)
        let r2 = try await store.commit(Transaction(compares: [Compare(key: "/k", modRevision: r1)], writes: [.put(key: "/k", value: bytes("v2"))]))
        #expect(try store.get("/k")?.modRevision == r2)
    }

    @Test func malformedTransactionsAreRefused() throws {
        let dir = try RepoPaths.temporaryDirectory()
        let store = try open(dir)
        defer { store.close() }
        #expect(throws: StoreError.self) { try store.submit(Transaction(writes: [])) }
        #expect(throws: StoreError.self) {
            try store.submit(Transaction(writes: [.put(key: "/x", value: []), .delete(key: "/x")]))
        }
    }

    @Test func pagedListsStayAtTheirRevision() async throws {
        let dir = try RepoPaths.temporaryDirectory()
        let store = try open(dir)
        defer { store.close() }
        for i in 0..<25 {
            try await store.commit(Transaction(writes: [.put(key: String(format: "/n/%03d", i), value: bytes("v\(i)"))]))
        }
        try await store.commit(Transaction(writes: [.put(key: "/o/zzz", value: [])]))
        let first = try store.list(prefix: "/n/", startAfter: nil, limit: 10, at: nil)
        #expect(first.items.count == 10 && first.more)
        // Writes after the first page: a change, a delete, a create.
        try await store.commit(Transaction(writes: [.put(key: "/n/015", value: bytes("changed"))]))
        try await store.commit(Transaction(writes: [.delete(key: "/n/016")]))
        try await store.commit(Transaction(writes: [.put(key: "/n/0155", value: bytes("new"))]))
        let second = try store.list(prefix: "/n/", startAfter: first.items.last!.key, limit: 10, at: first.revision)
        #expect(second.revision == first.revision)
        #expect(second.items.map(\.key) == (10..<20).map { String(format: "/n/%03d", $0) })
        #expect(second.items.first { $0.key == "/n/015" }?.value == bytes("v15"))
        let third = try store.list(prefix: "/n/", startAfter: second.items.last!.key, limit: 10, at: first.revision)
        #expect(third.items.count == 5 && !third.more)
        let now = try store.list(prefix: "/n/", startAfter: nil, limit: 100, at: nil)
        #expect(now.items.count == 25)
        #expect(now.items.contains { $0.key == "/n/0155" } && !now.items.contains { $0.key == "/n/016" })
        #expect(throws: StoreError.self) { try store.list(prefix: "/n/", startAfter: nil, limit: 1, at: store.currentRevision + 5) }
    }

    @Test func watchResumesFromARevisionThenFollowsLiveChanges() async throws {
        let dir = try RepoPaths.temporaryDirectory()
        let store = try open(dir)
        defer { store.close() }
        let r1 = try await store.commit(Transaction(writes: [.put(key: "/w/a", value: bytes("1"))]))
        try await store.commit(Transaction(writes: [.put(key: "/x/ignored", value: bytes("1"))]))
        try await store.commit(Transaction(writes: [.put(key: "/w/a", value: bytes("2"))]))
        try await store.commit(Transaction(writes: [.delete(key: "/w/a")]))
        var it = store.watch(prefix: "/w/", after: r1).makeAsyncIterator()
        let e1 = try #require(try await it.next())
        #expect(e1.kind == .put && e1.kv.value == bytes("2") && e1.previous?.value == bytes("1"))
        let e2 = try #require(try await it.next())
        #expect(e2.kind == .delete && e2.kv.key == "/w/a" && e2.previous?.value == bytes("2"))
        let live = try await store.commit(Transaction(writes: [.put(key: "/w/b", value: bytes("3"))]))
        let e3 = try #require(try await it.next())
        #expect(e3.kind == .put && e3.revision == live && e3.previous == nil)
    }

    @Test func watchFromACompactedRevisionIsRefused() async throws {
        let dir = try RepoPaths.temporaryDirectory()
        let store = try open(dir)
        defer { store.close() }
        for i in 0..<5 { try await store.commit(Transaction(writes: [.put(key: "/c/\(i)", value: [])])) }
        try await store.compact(upTo: 3)
        #expect(store.compactedRevision == 3)
        var it = store.watch(prefix: "/c/", after: 1).makeAsyncIterator()
        await #expect(throws: StoreError.self) { _ = try await it.next() }
        #expect(throws: StoreError.self) { try store.list(prefix: "/c/", startAfter: nil, limit: 10, at: 2) }
        var ok = store.watch(prefix: "/c/", after: 3).makeAsyncIterator()
        #expect(try await ok.next()?.kv.key == "/c/3")
    }

    @Test func concurrentWritersAreCommittedTogetherAndAllAcknowledged() async throws {
        let dir = try RepoPaths.temporaryDirectory()
        let store = try open(dir)
        defer { store.close() }
        let revisions = try await withThrowingTaskGroup(of: Revision.self) { group in
            for i in 0..<200 {
                group.addTask { try await store.commit(Transaction(writes: [.put(key: "/g/\(i)", value: [UInt8(i & 0xFF)])])) }
            }
            return try await group.reduce(into: [Revision]()) { $0.append($1) }
        }
        #expect(Set(revisions).count == 200)
        #expect(try store.listAll(prefix: "/g/").items.count == 200)
    }

    @Test func reopeningKeepsEverything() async throws {
        let dir = try RepoPaths.temporaryDirectory()
        var store = try open(dir)
        let r = try await store.commit(Transaction(writes: [.put(key: "/p/1", value: bytes("kept"))]))
        store.close()
        store = try open(dir)
        defer { store.close() }
        #expect(store.currentRevision == r)
        #expect(try store.get("/p/1")?.value == bytes("kept"))
        let next = try await store.commit(Transaction(writes: [.put(key: "/p/2", value: [])]))
        #expect(next > r)
    }

    @Test func refusesFilesItDoesNotUnderstandWithoutTouchingThem() throws {
        // Not SQLite at all.
        let garbage = try RepoPaths.temporaryDirectory()
        let junk = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try junk.write(to: garbage.appendingPathComponent(SQLiteStore.fileName))
        #expect { try open(garbage) } throws: { ($0 as? StoreError)?.code == .corrupt }
        #expect(try Data(contentsOf: garbage.appendingPathComponent(SQLiteStore.fileName)) == junk)

        // A newer schema of ours.
        let newer = try RepoPaths.temporaryDirectory()
        try open(newer).close()
        let file = newer.appendingPathComponent(SQLiteStore.fileName).path
        let r = try TestProcess.run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=99'); c.commit()", file])
        #expect(r.status == 0, "\(r.output)")
        #expect { try open(newer) } throws: { error in
            let e = error as? StoreError
            return e?.code == .corrupt && e?.message.contains("schema version 99") == true
        }

        // Somebody else's SQLite database.
        let foreign = try RepoPaths.temporaryDirectory()
        let f = foreign.appendingPathComponent(SQLiteStore.fileName).path
        _ = try TestProcess.run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE t(x)'); c.commit()", f])
        #expect { try open(foreign) } throws: { ($0 as? StoreError)?.message.contains("not a sriov-controller database") == true }

        // A missing or unwritable directory.
        #expect { try SQLiteStore(directory: foreign.path + "/absent") } throws: { ($0 as? StoreError)?.code == .unavailable }
    }
}
