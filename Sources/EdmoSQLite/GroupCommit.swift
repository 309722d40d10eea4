import EdmoStore
import Foundation
import GRDB

/// Webhook reports share commits on SQLite (`GroupCommit` in EdmoStore): a batch is one write transaction
/// on the pool's writer, each report in its own savepoint, every caller answered once it is durable
/// (synchronous=FULL).
enum SQLiteGroupCommit {
    typealias Queue = GroupCommit<(GRDB.Database) throws -> Bool, Bool>

    /// `onCommit` hears the duration of each batch's transaction (one commit), as `EdmoDatabase.write` does.
    static func make(pool: DatabasePool, onCommit: (@Sendable (Duration) -> Void)? = nil) -> Queue {
        Queue { batch in
            let started = ContinuousClock.now
            try pool.write { db in
                for job in batch {
                    do {
                        var changed = false
                        try db.inSavepoint {
                            changed = try job.work(db)
                            return .commit
                        }
                        job.result = .success(changed)
                    } catch {
                        job.result = .failure(error)
                    }
                }
            }
            onCommit?(ContinuousClock.now - started)
        }
    }
}
