import Dispatch
import EdmoStore
import Synchronization

/// Group commit for call reports, as `GroupCommit` does on SQLite: reports that arrive while another batch
/// commits wait, then go in one transaction, each in its own savepoint (one failing rolls back alone). Each
/// caller still returns only once its report is committed (`synchronous_commit` on): the commit and its
/// WAL flush are shared. The aggregate changes of the whole batch are summed and written last, once, in
/// the rollup's fixed order: every report touches the same few daily rows, whose locks would otherwise
/// serialize one commit per report, and a fixed order keeps two hosts' batches from deadlocking.
final class PostgresGroupCommit: Sendable {
    /// What a report did: whether it changed anything, and its aggregate changes (applied with the batch).
    struct Outcome {
        var changed: Bool
        var rollup: [(record: ConversationRecord, sign: Int)]
    }

    /// `result` is written by the committing thread before `done` is signalled and read by the caller
    /// after it waited: the semaphore orders the two.
    private final class Job: @unchecked Sendable {
        let work: (PostgresConnection) throws -> Outcome
        let done = DispatchSemaphore(value: 0)
        var result: Result<Bool, Error>?
        init(_ work: @escaping (PostgresConnection) throws -> Outcome) { self.work = work }
    }

    private let pool: PostgresPool
    private let state = Mutex<(pending: [Job], committing: Bool)>(([], false))

    init(pool: PostgresPool) { self.pool = pool }

    func write(_ work: @escaping (PostgresConnection) throws -> Outcome) throws -> Bool {
        let job = Job(work)
        let lead = state.withLock { s -> Bool in
            s.pending.append(job)
            if s.committing { return false }
            s.committing = true
            return true
        }
        if lead { commitBatch() }
        while true {
            job.done.wait()
            if let result = job.result { return try result.get() }
            commitBatch()  // woken without a result: it is this caller's turn to commit for the others
        }
    }

    /// Commits everything waiting, then hands the next batch to one of its waiters (so no caller keeps
    /// committing for others while its own client waits).
    private func commitBatch() {
        let batch = state.withLock { s -> [Job] in
            defer { s.pending = [] }
            return s.pending
        }
        do {
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
        } catch {
            // The transaction did not commit: nothing of this batch is stored.
            for job in batch { job.result = .failure(error) }
        }
        for job in batch { job.done.signal() }
        let next = state.withLock { s -> Job? in
            guard let first = s.pending.first else {
                s.committing = false
                return nil
            }
            return first
        }
        next?.done.signal()
    }
}
