import CSQLite

/// An open SQLite database handle; `deinit` closes it.
///
/// `@unchecked Sendable`: a connection is used by one thread at a time (the
/// store's writer thread, or a reader checked out of the pool under a lock);
/// SQLite is built thread-safe ("serialized") on Debian in any case.
final class SQLiteConnection: @unchecked Sendable {
    let db: OpaquePointer
    let path: String
    private var statements: [String: SQLiteStatement] = [:]

    init(path: String, readOnly: Bool) throws(StoreError) {
        var handle: OpaquePointer?
        let flags = readOnly
            ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let handle { sqlite3_close_v2(handle) }
            throw StoreError(.unavailable, "opening \(path): \(message)")
        }
        db = handle
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        // Readers and the writer meet only at WAL checkpoints; wait rather
        // than fail when one holds a lock briefly.
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(db)
    }

    /// Runs SQL without results (several statements allowed).
    func exec(_ sql: String) throws(StoreError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(err)
            throw error(rc, message, sql)
        }
    }

    /// A cached prepared statement, reset and with bindings cleared.
    func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let s = statements[sql] {
            s.reset()
            return s
        }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw error(rc, String(cString: sqlite3_errmsg(db)), sql)
        }
        let s = SQLiteStatement(stmt, connection: self)
        statements[sql] = s
        return s
    }

    /// The single integer of a query such as `PRAGMA user_version`.
    func scalar(_ sql: String) throws(StoreError) -> Int64? {
        let s = try statement(sql)
        defer { s.reset() }
        return try s.step() ? s.int64(0) : nil
    }

    func error(_ rc: Int32, _ message: String, _ sql: String) -> StoreError {
        let primary = rc & 0xFF
        let code: StoreError.Code =
            primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? .corrupt : .unavailable
        return StoreError(code, "\(path): \(message) (SQLite code \(rc))")
    }
}

/// A prepared statement owned by its connection's cache.
final class SQLiteStatement {
    let stmt: OpaquePointer
    unowned let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(stmt, index, value)
    }

    func bind(_ index: Int32, _ value: String) {
        var v = value
        v.withUTF8 { buf in
            _ = buf.withMemoryRebound(to: CChar.self) {
                CSQLite_bind_text(stmt, index, $0.baseAddress, Int32($0.count))
            }
        }
    }

    func bind(_ index: Int32, blob: [UInt8]?) {
        guard let blob else {
            sqlite3_bind_null(stmt, index)
            return
        }
        // An empty blob must stay a blob, not NULL: bind a zero-length one.
        if blob.isEmpty {
            sqlite3_bind_zeroblob(stmt, index, 0)
            return
        }
        blob.withUnsafeBytes { _ = CSQLite_bind_blob(stmt, index, $0.baseAddress, Int32($0.count)) }
    }

    /// Steps once: true when a row is available, false when done.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw connection.error(rc, String(cString: sqlite3_errmsg(connection.db)), String(cString: sqlite3_sql(stmt)))
    }

    /// Steps to completion, for writes.
    func run() throws(StoreError) {
        while try step() {}
        sqlite3_reset(stmt)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, column) else { return "" }
        let n = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(stmt, column))
        guard n > 0, let p = sqlite3_column_blob(stmt, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}
