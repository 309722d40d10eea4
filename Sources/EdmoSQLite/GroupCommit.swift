import EdmoStore
import Foundation
import GRDB

/// Every write on SQLite shares commits (`GroupCommit` in EdmoStore): the writes that arrive while a batch
/// commits go to disk together as one write transaction on the pool's writer, each in its own savepoint, and
/// every caller is answered once that transaction is durable (synchronous=FULL). One fsync serves the batch.
enum SQLiteGroupCommit {
    typealias Queue = GroupCommit<(GRDB.Database) throws -> Void, Void>

    /// The pool whose batch this thread is running: a write inside a write would wait for itself.
    @TaskLocal static var running: ObjectIdentifier?

    /// `onCommit` hears the duration of each batch's transaction (one commit), only when it kept something.
    static func make(pool: DatabasePool, onCommit: (@Sendable (Duration) -> Void)? = nil) -> Queue {
        let id = ObjectIdentifier(pool)
        return Queue { batch in
            let started = ContinuousClock.now
            var kept = false
            try EdmoDatabase.translatingFull {
                try $running.withValue(id) {
                    try pool.writeWithoutTransaction { db in
                        try db.inTransaction {
                            kept = try run(batch, db)
                            // Nothing to keep (every job failed): no commit, and no commit to count.
                            return kept ? .commit : .rollback
                        }
                    }
                }
            }
            if kept { onCommit?(ContinuousClock.now - started) }
        }
    }

    /// Runs each job in its own savepoint and sets its result; true when at least one is to be committed.
    /// Throws (so that nothing of the batch is committed, and every caller gets the error) when the batch as
    /// a whole is lost: a full disk, which may have made SQLite roll the whole transaction back (its COMMIT
    /// would then fail as "aborted", telling nobody the disk is full), or any error after which SQLite left
    /// the transaction (I/O error, ON CONFLICT ROLLBACK): the jobs before it are gone with it.
    ///
    /// The jobs' analytics changes are summed and written once, after them (`AnalyticsRollup`); if that
    /// fails, so does the batch.
    static func run(_ batch: [Queue.Job], _ db: GRDB.Database) throws -> Bool {
        var kept = false
        let rollup = AnalyticsRollup.Changes()
        for job in batch {
            let changes = AnalyticsRollup.Changes()
            do {
                try savepoint(db) { try AnalyticsRollup.$pending.withValue(changes) { try job.work(db) } }
                rollup.add(changes)
                job.result = .success(())
                kept = true
            } catch {
                if isFull(error) { throw StoreError.storageFull }
                guard db.isInsideTransaction else { throw error }
                job.result = .failure(error)
            }
        }
        if kept { try rollup.write(db) }
        return kept
    }

    /// `db.inSavepoint`, with its three statements compiled once per connection instead of once per job
    /// (they were a tenth of a batch's SQLite time). Always inside the batch's transaction.
    static func savepoint(_ db: GRDB.Database, _ work: () throws -> Void) throws {
        try db.cachedStatement(sql: "SAVEPOINT job").execute()
        do {
            try work()
        } catch {
            if db.isInsideTransaction {
                try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT job").execute()
                try db.cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
            }
            throw error
        }
        try db.cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
    }

    static func isFull(_ error: Error) -> Bool {
        if let error = error as? DatabaseError { return error.resultCode == .SQLITE_FULL }
        return error as? StoreError == .storageFull
    }

    /// A caller's body and its value, for the queue: the caller clears `body` once answered, so the
    /// non-escaping closure it lent (`withoutActuallyEscaping`) is not kept by a job the batch still holds.
    final class Call<T> {
        var body: ((GRDB.Database) throws -> T)?
        var value: T?
        init(_ body: @escaping (GRDB.Database) throws -> T) { self.body = body }

        func run(_ db: GRDB.Database) throws { value = try body!(db) }
    }
}
