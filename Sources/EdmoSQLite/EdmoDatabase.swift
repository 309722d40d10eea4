import EdmoCore
import EdmoStore
import Foundation
import GRDB
import Synchronization

/// The one owner of the SQLite file: a WAL-mode pool (concurrent readers, one writer) with
/// `synchronous=FULL` so an acknowledged write survives power loss, foreign keys on, a busy timeout for
/// other processes on the same file, and IMMEDIATE write transactions (GRDB's default for pools).
public final class EdmoDatabase: Sendable {
    public let pool: DatabasePool
    let path: String
    private let readers: ThreadLocalReaders
    /// Shares commits between concurrent writers that opt in (webhook reports).
    let groupCommit: GroupCommit

    public init(path: String) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
        // GRDB sets NORMAL when it enables WAL; only the writer connection's setting matters for durability.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        self.path = path
        readers = ThreadLocalReaders()
        groupCommit = GroupCommit(pool: pool)
    }

    /// Reads on this thread's own read-only connection. Each FastCGI worker thread keeps one, so the hot
    /// read paths (the session behind every request, stored documents) share no lock and no queue; the
    /// pool's readers measured at a fifth of the throughput under 64 concurrent clients on 2 cores.
    /// One statement is one snapshot (autocommit); several statements are not isolated from writers.
    public func read<T>(_ body: (GRDB.Database) throws -> T) throws -> T {
        try Self.translatingFull { try readers.connection(path: path).inDatabase(body) }
    }

    /// A write transaction on the pool's one writer. SQLite's "database or disk is full" becomes
    /// `StoreError.storageFull`, so the API can tell a full disk from a bug.
    public func write<T>(_ body: (GRDB.Database) throws -> T) throws -> T {
        try Self.translatingFull { try pool.write(body) }
    }

    static func translatingFull<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StoreError.storageFull
        }
    }

    /// Applies every migration not yet recorded; returns the identifiers it applied.
    @discardableResult
    public func migrate(_ migrations: [Migration], upTo last: String? = nil) throws -> [String] {
        let before = try appliedMigrations()
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.id) { db in try db.execute(sql: migration.sql) }
        }
        let known = Set(migrations.map(\.id))
        if let unknown = before.first(where: { !known.contains($0) }) {
            throw StoreError.schemaTooNew("the database has migration \(unknown), which this build does not know; upgrade edmo")
        }
        if let last { try migrator.migrate(pool, upTo: last) } else { try migrator.migrate(pool) }
        return try appliedMigrations().filter { !before.contains($0) }
    }

    public func appliedMigrations() throws -> [String] {
        try pool.read { db in
            guard try db.tableExists("grdb_migrations") else { return [] }
            return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
    }
}

/// A read-only GRDB connection per thread, closed when the thread ends.
final class ThreadLocalReaders: @unchecked Sendable {
    // pthread keys are process-wide and thread-safe; the stored values are touched only by their thread.
    private var key = pthread_key_t()

    init() {
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<DatabaseQueue>.fromOpaque(pointer).release() }
        }
    }

    func connection(path: String) throws -> DatabaseQueue {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<DatabaseQueue>.fromOpaque(existing).takeUnretainedValue()
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: config)
        pthread_setspecific(key, Unmanaged.passRetained(queue).toOpaque())
        return queue
    }
}

/// `migrations/NNNN_name.sql`: forward-only, never edited once landed, applied in file-name order.
public struct Migration: Sendable, Equatable {
    public let id: String
    public let sql: String

    public init(id: String, sql: String) {
        self.id = id
        self.sql = sql
    }

    public static func load(from directory: String) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".sql") && $0.first?.isNumber == true }
            .sorted()
        guard !files.isEmpty else { throw StoreError.schemaTooNew("no migrations found in \(directory)") }
        return try files.map { file in
            Migration(
                id: String(file.dropLast(4)),
                sql: try String(contentsOfFile: directory + "/" + file, encoding: .utf8))
        }
    }

    /// Where the .sql files are: `EDMO_MIGRATIONS`, else next to an installed binary
    /// (`PREFIX/share/edmo/migrations`), else the source tree the binary was built in.
    public static func locate(configured: String?, executable: String) -> String? {
        if let configured { return configured }
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        let installed = dir.deletingLastPathComponent().appendingPathComponent("share/edmo/migrations").path
        if FileManager.default.fileExists(atPath: installed) { return installed }
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("migrations").path
            if FileManager.default.fileExists(atPath: candidate + "/0001_accounts.sql") { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}


extension EdmoDatabase {
    /// Every store, on this database.
    public var stores: Stores {
        Stores(
            accounts: SQLiteAccountStore(database: self), resources: SQLiteResourceStore(database: self),
            chats: SQLiteChatStore(database: self), analytics: SQLiteAnalyticsStore(database: self))
    }
}
