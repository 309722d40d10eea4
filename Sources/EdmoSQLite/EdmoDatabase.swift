import EdmoCore
import EdmoStore
import Foundation
import GRDB
import Synchronization

/// The one owner of the SQLite file: a WAL-mode pool (concurrent readers, one writer) with
/// `synchronous=FULL` so an acknowledged write survives power loss, foreign keys on, a busy timeout for
/// other processes on the same file, and IMMEDIATE write transactions (GRDB's default for pools). Writes
/// share commits (`write`, group commit): one fsync serves every write that arrived while the last one ran.
public final class EdmoDatabase: Sendable {
    public let pool: DatabasePool
    let path: String
    private let readers: ThreadLocalReaders
    /// Every `write` goes through it: concurrent writes share one transaction and its commit.
    let writes: SQLiteGroupCommit.Queue
    /// Told how long each committed write transaction took (the metrics' commit latency).
    let onCommit: (@Sendable (Duration) -> Void)?
    /// The file opened (device and inode), so the health check can tell when it was removed or replaced:
    /// open connections would keep using the old, unlinked file.
    let fileIdentity: FileIdentity?
    let checkpointer: WALCheckpointer

    /// `onCommit` hears the duration of every committed write transaction (a batch of writes is one), from
    /// asking for the writer to the durable commit. `restartWALFrames`: see `WALCheckpointer` (tests lower it).
    public init(path: String, onCommit: (@Sendable (Duration) -> Void)? = nil,
                restartWALFrames: Int = WALCheckpointer.restartFrames) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = Self.busyFiveSeconds
        pool = try DatabasePool(path: path, configuration: config)
        // GRDB sets NORMAL when it enables WAL; only the writer connection's setting matters for durability.
        // The WAL is checkpointed off the commit path (`WALCheckpointer`).
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerFallbackPages)")
        }
        self.path = path
        self.onCommit = onCommit
        fileIdentity = FileIdentity(path: path)
        readers = ThreadLocalReaders()
        writes = SQLiteGroupCommit.make(pool: pool, onCommit: onCommit)
        checkpointer = WALCheckpointer(path: path, restartFrames: restartWALFrames)
    }

    /// Waits up to about 5 s for a lock another connection holds (another process on the same file, or the
    /// checkpointer's restart of the WAL, `WALCheckpointer`), trying again every 0.1 ms for the first 10 ms:
    /// the restart holds the writer for a millisecond or two, and SQLite's own busy timeout would sleep
    /// 1 + 2 + 5 ms before the write got its turn, with every write queued behind it.
    static let busyFiveSeconds = Database.BusyMode.callback { tries in
        usleep(tries < 100 ? 100 : 1_000)
        return tries < 5_090
    }

    /// Reads on this thread's own read-only connection. Each FastCGI worker thread keeps one, so the hot
    /// read paths (the session behind every request, stored documents) share no lock and no queue; the
    /// pool's readers measured at a fifth of the throughput under 64 concurrent clients on 2 cores.
    /// One statement is one snapshot (autocommit); several statements are not isolated from writers.
    public func read<T>(_ body: (GRDB.Database) throws -> T) throws -> T {
        try Self.translatingFull { try readers.connection(path: path).inDatabase(body) }
    }

    /// A write, durable when this returns: the body runs in its own savepoint inside a transaction shared
    /// with the writes that arrived while the previous one committed (group commit). A body that throws
    /// rolls back alone and its caller gets its error; a batch that cannot commit fails every caller in it,
    /// none of whose writes was kept. SQLite's "database or disk is full" becomes `StoreError.storageFull`
    /// (for every caller of the batch), so the API can tell a full disk from a bug.
    ///
    /// The body may run on another caller's thread, while this one waits: it must not write again (that
    /// would wait for itself; GRDB refused nested writes before too) nor depend on thread-local state.
    ///
    /// An audit entry bound on this thread (`PendingAuditEntry`) is inserted in the same savepoint, after the
    /// body: the change and its entry commit together or not at all.
    public func write<T>(_ body: (GRDB.Database) throws -> T) throws -> T {
        precondition(SQLiteGroupCommit.running != ObjectIdentifier(pool), "EdmoDatabase.write inside a write")
        let audit = PendingAuditEntry.unwritten  // read here: the job may run on another caller's thread
        return try withoutActuallyEscaping(body) { body in
            let call = SQLiteGroupCommit.Call(body)
            defer { call.body = nil }
            try Self.translatingFull {
                try writes.write { db in
                    try call.run(db)
                    if let audit { try SQLiteAuditStore.insert(db, audit.entry) }
                }
            }
            audit?.markWritten()
            return call.value!
        }
    }

    /// A write transaction of its own, outside group commit: for long ones (rebuilding the analytics), which
    /// would hold every write of their batch behind them and put each of their pages in a savepoint journal.
    public func writeAlone<T>(_ body: (GRDB.Database) throws -> T) throws -> T {
        precondition(SQLiteGroupCommit.running != ObjectIdentifier(pool), "EdmoDatabase.writeAlone inside a write")
        let started = ContinuousClock.now
        let value = try Self.translatingFull { try pool.write(body) }
        onCommit?(ContinuousClock.now - started)
        return value
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

/// A read-only GRDB connection per thread. A thread's connection is closed after the thread ends, by the
/// next thread that asks for one, and every connection when the database is closed.
///
/// Not at the thread's end itself: closing a GRDB connection runs libdispatch code, and a pthread key's
/// destructor may run after libdispatch has torn down that thread's own state; dispatch then builds it
/// again and frees it twice ("free(): invalid pointer" in `_dispatch_cache_cleanup`, seen in the Swift
/// tests, whose threads come and go). The destructor only files the connection as retired.
final class ThreadLocalReaders: @unchecked Sendable {
    /// What a thread's key holds: its connection, and where to file it when the thread ends.
    final class Slot {
        let queue: DatabaseQueue
        let retired: Retired
        init(queue: DatabaseQueue, retired: Retired) { self.queue = queue; self.retired = retired }
    }

    final class Retired: Sendable {
        let ids = Mutex<[ObjectIdentifier]>([])
    }

    // pthread keys are process-wide and thread-safe; a key's value is touched only by its thread.
    private var key = pthread_key_t()
    /// Every connection handed out and not yet closed: the strong references that keep them open.
    private let open = Mutex<[ObjectIdentifier: DatabaseQueue]>([:])
    private let retired = Retired()

    init() {
        pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            // Releases only the slot: `open` still holds the connection, so no GRDB code runs here.
            let slot = Unmanaged<Slot>.fromOpaque(pointer).takeRetainedValue()
            slot.retired.ids.withLock { $0.append(ObjectIdentifier(slot.queue)) }
        }
    }

    deinit {
        pthread_key_delete(key)  // the keys of a process are few (1024); each test opens a database
    }

    func connection(path: String) throws -> DatabaseQueue {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<Slot>.fromOpaque(existing).takeUnretainedValue().queue
        }
        closeRetired()
        var config = Configuration()
        config.readonly = true
        config.busyMode = EdmoDatabase.busyFiveSeconds
        let queue = try DatabaseQueue(path: path, configuration: config)
        open.withLock { $0[ObjectIdentifier(queue)] = queue }
        pthread_setspecific(key, Unmanaged.passRetained(Slot(queue: queue, retired: retired)).toOpaque())
        return queue
    }

    /// Closes the connections of threads that have ended (they are released here, on a live thread).
    private func closeRetired() {
        let ids = retired.ids.withLock { ids in defer { ids = [] }; return ids }
        guard !ids.isEmpty else { return }
        let closing = open.withLock { open in ids.compactMap { open.removeValue(forKey: $0) } }
        _ = closing
    }
}


extension EdmoDatabase {
    /// Every store, on this database.
    public var stores: Stores {
        Stores(
            accounts: SQLiteAccountStore(database: self), resources: SQLiteResourceStore(database: self),
            chats: SQLiteChatStore(database: self), analytics: SQLiteAnalyticsStore(database: self),
            audit: SQLiteAuditStore(database: self), webhooks: SQLiteWebhookStore(database: self),
            idempotency: SQLiteIdempotencyStore(database: self), health: self)
    }
}
