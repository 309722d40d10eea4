import EdmoStore

/// Call reports share commits on PostgreSQL (`GroupCommit` in EdmoStore), as on SQLite: a batch is one
/// transaction, each report in its own savepoint, every caller answered once it is committed
/// (`synchronous_commit` on). The aggregate changes of the whole batch are summed and written last, once, in
/// the rollup's fixed order: every report touches the same few daily rows, whose locks would otherwise
/// serialize one commit per report, and a fixed order keeps two hosts' batches from deadlocking.
enum PostgresGroupCommit {
    /// What a report did: whether it changed anything, and its aggregate changes (applied with the batch).
    struct Outcome {
        var changed: Bool
        var rollup: [(record: ConversationRecord, sign: Int)]
    }

    typealias Queue = GroupCommit<(PostgresConnection) throws -> Outcome, Bool>

    static func make(pool: PostgresPool) -> Queue {
        Queue { batch in
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
}
