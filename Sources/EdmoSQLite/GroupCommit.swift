import EdmoStore
import EdmoCore
import Foundation
import GRDB
import Synchronization

/// Group commit: writes that arrive while another is committing wait, then go to disk together in one
/// transaction (each in its own savepoint, so one failing rolls back alone). Every caller still returns
/// only after its write is durable (synchronous=FULL); the fsync is just shared. Used for webhook reports,
/// which arrive in bursts and each cost a commit.
final class GroupCommit: Sendable {
    /// `result` is written by the committing thread before `done` is signalled and read by the caller
    /// after it waited: the semaphore orders the two.
    private final class Job: @unchecked Sendable {
        let work: (GRDB.Database) throws -> Bool
        let done = DispatchSemaphore(value: 0)
        var result: Result<Bool, Error>?
        init(_ work: @escaping (GRDB.Database) throws -> Bool) { self.work = work }
    }

    private let pool: DatabasePool
    private let onCommit: (@Sendable (Duration) -> Void)?
    private let state = Mutex<(pending: [Job], committing: Bool)>(([], false))

    /// `onCommit` hears the duration of each batch's transaction (one commit), as `EdmoDatabase.write` does.
    init(pool: DatabasePool, onCommit: (@Sendable (Duration) -> Void)? = nil) {
        self.pool = pool
        self.onCommit = onCommit
    }

    func write(_ work: @escaping (GRDB.Database) throws -> Bool) throws -> Bool {
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
            let batch = s.pending
            s.pending = []
            return batch
        }
        do {
            let started = ContinuousClock.now
            try pool.write { db in
                for job in batch {
                    var changed = false
                    do {
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
        } catch {
            // The transaction did not commit: nothing of this batch is on disk.
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
