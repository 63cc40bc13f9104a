import Foundation
import SriovStore
import SriovTestSupport
import Testing

/// What only the embedded store does: durability across reopen and refusal
/// of files it does not understand. The contract it shares with the etcd
/// backend is in ``StoreContractTests``.
@Suite(.timeLimit(.minutes(1)))
struct SQLiteStoreTests {
    func open(_ dir: URL, _ options: SQLiteStore.Options = .defaults) throws -> SQLiteStore {
        try SQLiteStore(directory: dir.path, options: options)
    }

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

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
