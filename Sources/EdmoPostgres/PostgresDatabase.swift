import EdmoStore

/// The one owner of a PostgreSQL database for this process: its pool, and the schema migrations.
public final class PostgresDatabase: Sendable {
    public let pool: PostgresPool
    /// Shares commits between concurrent call reports (webhooks).
    let callReports: PostgresGroupCommit.Queue

    /// Connects once now, so a wrong URL or an unreachable server fails at start-up, not on a request.
    /// `onCommit` hears the duration of every committed write transaction (see `PostgresPool.write`).
    public init(url: String, poolSize: Int = 8, onCommit: (@Sendable (Duration) -> Void)? = nil) throws {
        pool = PostgresPool(url: url, size: poolSize, onCommit: onCommit)
        callReports = PostgresGroupCommit.make(pool: pool)
        try pool.read { _ in }
    }

    @discardableResult
    public func read<T>(_ body: (PostgresConnection) throws -> T) throws -> T { try pool.read(body) }
    /// One transaction (`PostgresPool.write`). An audit entry bound on this thread (`PendingAuditEntry`) is
    /// inserted in it after the body: the change and its entry commit together or not at all.
    @discardableResult
    public func write<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard let audit = PendingAuditEntry.unwritten else { return try pool.write(body) }
        let value = try pool.write { connection in
            let value = try body(connection)
            try PostgresAuditStore.insert(connection, audit.entry)
            return value
        }
        audit.markWritten()
        return value
    }

    /// Key of the session advisory lock held while migrating ("edmo" in ASCII): hosts that start together
    /// migrate one after the other, and the later ones find nothing left to do.
    static let migrationLock = 0x6564_6D6F

    /// Applies every migration not yet recorded (up to and including `last`), each in its own transaction
    /// with its row in `schema_migrations`; returns the identifiers it applied. Refuses a database that
    /// holds a migration this build does not know (`StoreError.schemaTooNew`), as the SQLite store does.
    @discardableResult
    public func migrate(_ migrations: [Migration], upTo last: String? = nil) throws -> [String] {
        let ordered = migrations.sorted { $0.id < $1.id }
        let end = try last.map { last in
            guard let index = ordered.firstIndex(where: { $0.id == last }) else { throw StoreError.notFound("migration \(last)") }
            return index + 1
        } ?? ordered.count
        return try PostgresError.translating {
            try pool.withConnection { connection in
                try connection.query("SELECT pg_advisory_lock($1)", [Self.migrationLock])
                defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.migrationLock]) }
                try Self.requireUTF8(connection)
                try connection.executeScript(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (identifier text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
                let before = Set(try Self.applied(connection))
                let known = Set(ordered.map(\.id))
                if let unknown = before.sorted().first(where: { !known.contains($0) }) {
                    throw StoreError.schemaTooNew("the database has migration \(unknown), which this build does not know; upgrade edmo")
                }
                var applied: [String] = []
                for migration in ordered[..<end] where !before.contains(migration.id) {
                    try connection.transaction { transaction in
                        try transaction.executeScript(migration.sql)
                        try transaction.execute("INSERT INTO schema_migrations (identifier) VALUES ($1)", [migration.id])
                    }
                    applied.append(migration.id)
                }
                return applied
            }
        }
    }

    public func appliedMigrations() throws -> [String] {
        try pool.read { connection in
            let present: Bool = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")[0]["present"]
            return present ? try Self.applied(connection) : []
        }
    }

    static func applied(_ connection: PostgresConnection) throws -> [String] {
        try connection.query("SELECT identifier FROM schema_migrations ORDER BY identifier").rows.map { try $0["identifier"] }
    }

    /// Swift strings are UTF-8 and the schema relies on it (a SQL_ASCII database would store any bytes,
    /// LATIN1 would refuse most of the world's text).
    static func requireUTF8(_ connection: PostgresConnection) throws {
        let encoding: String = try connection.query("SELECT current_setting('server_encoding') AS encoding")[0]["encoding"]
        guard encoding == "UTF8" else {
            throw PostgresError(message: "the database's encoding is \(encoding); edmo needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')")
        }
    }
}

extension PostgresDatabase {
    /// Every store, on this database.
    public var stores: Stores {
        Stores(
            accounts: PostgresAccountStore(database: self), resources: PostgresResourceStore(database: self),
            chats: PostgresChatStore(database: self), analytics: PostgresAnalyticsStore(database: self),
            audit: PostgresAuditStore(database: self), webhooks: PostgresWebhookStore(database: self),
            idempotency: PostgresIdempotencyStore(database: self), health: self)
    }
}
