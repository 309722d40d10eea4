import CLibPQ
import Foundation

/// One PostgreSQL session (a libpq `PGconn`). libpq allows one thread at a time per connection: the pool
/// lends it to one borrower at a time, so it moves between threads but is never shared (hence
/// `@unchecked Sendable`). Statements take parameters only (`$1`, `$2`, ...), never values in the SQL.
public final class PostgresConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    /// SQL text -> the name it is prepared under in this session; a new session (reconnect) has none.
    private var prepared: [String: String] = [:]
    /// SQL built with a varying number of placeholders would grow the cache without end: past this many,
    /// statements run unprepared (`PQexecParams`).
    static let preparedLimit = 512
    /// Counts sessions: a transaction begun in one cannot go on in the next (the server rolled it back).
    private var generation = 0
    private var transactionGeneration: Int?

    /// `url` is a `postgres://` URI or a `key=value` string, as `psql` takes. Unless it says otherwise,
    /// connecting gives up after 10 s and the session is named `edmo` in `pg_stat_activity`.
    public init(url: String) throws {
        // Later keywords override earlier ones, and `dbname` is expanded from the URL: the URL may change
        // the timeout but not the encoding, which must be UTF-8 for Swift strings.
        let options = [
            ("connect_timeout", "10"), ("dbname", url), ("fallback_application_name", "edmo"), ("client_encoding", "UTF8"),
        ]
        let keys = options.map { strdup($0.0) }, values = options.map { strdup($0.1) }
        defer { (keys + values).forEach { free($0) } }
        let handle = PQconnectdbParams(
            (keys.map { UnsafePointer($0) } + [nil]), (values.map { UnsafePointer($0) } + [nil]), 1)!
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError(message: "cannot connect to PostgreSQL: \(message)")
        }
        edmo_pq_silence_notices(handle)
        self.handle = handle
    }

    deinit { PQfinish(handle) }

    /// The server process of this session (`pg_stat_activity.pid`); it changes when the session is replaced.
    public var backendPID: Int { Int(PQbackendPID(handle)) }
    public var isInTransaction: Bool { PQtransactionStatus(handle) != PQTRANS_IDLE }

    /// Runs one statement: prepared the first time this session sees the SQL, executed by name after.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> PostgresResult {
        try withParameters(parameters) { count, values, lengths, formats in
            try reconnectingOnce {
                if let name = prepared[sql] {
                    return try check(PQexecPrepared(handle, name, count, values, lengths, formats, 0))
                }
                guard prepared.count < Self.preparedLimit else {
                    return try check(PQexecParams(handle, sql, count, nil, values, lengths, formats, 0))
                }
                let name = "edmo_\(prepared.count + 1)"
                try check(PQprepare(handle, name, sql, 0, nil))
                prepared[sql] = name
                return try check(PQexecPrepared(handle, name, count, values, lengths, formats, 0))
            }
        }
    }

    /// Runs one statement; returns how many rows it inserted, updated or deleted.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> Int {
        try query(sql, parameters).affectedRows
    }

    /// Runs trusted SQL text without parameters, possibly several statements (a migration file).
    public func executeScript(_ sql: String) throws {
        try reconnectingOnce { try check(PQexec(handle, sql)) }
    }

    /// Runs `body` between BEGIN and COMMIT, and rolls back if it throws. Transactions do not nest.
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard transactionGeneration == nil else { throw PostgresError(message: "a transaction is already open") }
        try executeScript("BEGIN")
        transactionGeneration = generation
        defer { transactionGeneration = nil }
        let value: T
        do {
            value = try body(self)
        } catch {
            rollBack()
            throw error
        }
        // A transaction in which a statement failed (and `body` went on) ends in ROLLBACK, and says so.
        let commit = try reconnectingOnce { try check(PQexec(handle, "COMMIT")) }
        guard commit.commandTag == "COMMIT" else { throw PostgresError(message: "the transaction was rolled back: a statement in it failed") }
        return value
    }

    /// Ends a transaction left open (a borrower that ran BEGIN itself), before the next borrower.
    func rollBack() {
        if isInTransaction, PQstatus(handle) == CONNECTION_OK { PQclear(PQexec(handle, "ROLLBACK")) }
    }

    /// Runs `attempt`; when it fails because the connection broke (a restarted server, a terminated
    /// backend, a network cut), reconnects and, unless a transaction was open, runs it once more. Inside a
    /// transaction the server has rolled it back, so the transaction's later statements fail too.
    @discardableResult
    private func reconnectingOnce<T>(_ attempt: () throws -> T) throws -> T {
        if PQstatus(handle) != CONNECTION_OK { try reconnect() }
        if let begun = transactionGeneration, begun != generation {
            throw PostgresError(message: "the connection was lost in this transaction, which was rolled back")
        }
        let inTransaction = isInTransaction
        do {
            return try attempt()
        } catch let error as PostgresError where PQstatus(handle) != CONNECTION_OK {
            try reconnect()
            if inTransaction { throw error }
            return try attempt()
        }
    }

    private func reconnect() throws {
        PQreset(handle)
        prepared.removeAll()
        generation += 1
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(message: "lost the connection to PostgreSQL and cannot reconnect: \(Self.trimmed(PQerrorMessage(handle)))")
        }
    }

    /// Wraps a libpq result, or throws its error with the SQLSTATE.
    @discardableResult
    private func check(_ result: OpaquePointer?) throws -> PostgresResult {
        guard let result else { throw PostgresError(message: Self.trimmed(PQerrorMessage(handle))) }
        let wrapped = PostgresResult(result)
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return wrapped
        default:
            func field(_ code: Int32) -> String? { PQresultErrorField(result, code).map { String(cString: $0) } }
            throw PostgresError(
                sqlState: field(edmo_pg_diag_sqlstate),
                message: field(edmo_pg_diag_message_primary) ?? Self.trimmed(PQresultErrorMessage(result)),
                constraint: field(edmo_pg_diag_constraint_name))
        }
    }

    /// The parameters as libpq's parallel arrays: text is NUL-terminated and sent as text (format 0), bytes
    /// are sent as binary (format 1) with their length, nil is a NULL pointer.
    private func withParameters<T>(
        _ parameters: [(any PostgresEncodable)?],
        _ body: (Int32, [UnsafePointer<CChar>?], [Int32], [Int32]) throws -> T
    ) throws -> T {
        var values = [UnsafePointer<CChar>?](), lengths = [Int32](), formats = [Int32]()
        var owned = [UnsafeMutableRawPointer]()
        defer { owned.forEach { free($0) } }
        for parameter in parameters {
            switch parameter?.postgresValue {
            case nil:
                values.append(nil); lengths.append(0); formats.append(0)
            case .text(let text):
                guard !text.utf8.contains(0) else { throw PostgresError(message: "text cannot contain a NUL character") }
                let copy = strdup(text)!
                owned.append(copy)
                values.append(UnsafePointer(copy)); lengths.append(0); formats.append(0)
            case .bytes(let bytes):
                let copy = malloc(max(bytes.count, 1))!
                owned.append(copy)
                bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(copy), byteCount: bytes.count) }
                values.append(UnsafePointer(copy.assumingMemoryBound(to: CChar.self))); lengths.append(Int32(bytes.count)); formats.append(1)
            }
        }
        return try body(Int32(parameters.count), values, lengths, formats)
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
    }
}
