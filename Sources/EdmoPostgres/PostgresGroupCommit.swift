import EdmoStore

/// Call reports share commits on PostgreSQL (`GroupCommit` in EdmoStore), as on SQLite: a batch is one
/// transaction, every caller answered once it is committed (`synchronous_commit` on). The aggregate changes
/// of the whole batch are summed and written last, once, in the rollup's fixed order: every report touches
/// the same few daily rows, whose locks would otherwise serialize one commit per report, and a fixed order
/// keeps two hosts' batches from deadlocking.
///
/// A batch first runs without savepoints: each is a round trip, two of the six statements a new call's
/// report took in a batch (the locking read, the erased-call check, the insert and its messages are left).
/// Only when a report fails is the batch rolled back and run again with each report in its own savepoint,
/// so that one failing rolls back alone. Reports are idempotent (a report already stored changes nothing),
/// so running one twice is safe even if the first COMMIT's answer was lost.
enum PostgresGroupCommit {
    /// What a report did: whether it changed anything, and its aggregate changes (applied with the batch).
    struct Outcome {
        var changed: Bool
        var rollup: [(record: ConversationRecord, sign: Int)]
    }

    typealias Queue = GroupCommit<(PostgresConnection) throws -> Outcome, Bool>

    static func make(pool: PostgresPool) -> Queue {
        Queue { batch in
            do {
                try together(batch, pool)
            } catch where batch.count > 1 {
                try separately(batch, pool)
            }
        }
    }

    /// One transaction, no savepoints: any failure fails the whole batch (a batch of one: its report).
    private static func together(_ batch: [Queue.Job], _ pool: PostgresPool) throws {
        let changed = try pool.write { connection in
            var rollup: [(record: ConversationRecord, sign: Int)] = []
            let changed = try batch.map { job in
                let outcome = try PostgresError.translating { try job.work(connection) }
                rollup += outcome.rollup
                return outcome.changed
            }
            try PostgresAnalyticsRollup.apply(connection, rollup)
            return changed
        }
        for (job, changed) in zip(batch, changed) { job.result = .success(changed) }
    }

    /// One transaction, each report in a savepoint: a failing report gets its error, the others commit.
    private static func separately(_ batch: [Queue.Job], _ pool: PostgresPool) throws {
        try pool.write { connection in
            var rollup: [(record: ConversationRecord, sign: Int)] = []
            for job in batch {
                try connection.executeScript("SAVEPOINT report")
                do {
                    let outcome = try PostgresError.translating { try job.work(connection) }
                    try connection.executeScript("RELEASE SAVEPOINT report")
                    rollup += outcome.rollup
                    job.result = .success(outcome.changed)
                } catch {
                    try connection.executeScript("ROLLBACK TO SAVEPOINT report; RELEASE SAVEPOINT report")
                    job.result = .failure(error)
                }
            }
            try PostgresAnalyticsRollup.apply(connection, rollup)
        }
    }
}
