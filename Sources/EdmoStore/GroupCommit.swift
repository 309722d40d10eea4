import Dispatch
import EdmoCore
import Synchronization

/// Group commit, shared by both stores: writes that arrive while a batch is committing wait, then go to
/// disk together in one transaction. Each caller still returns only once its own write is committed; the
/// commit (and its flush) is shared. This class does the queueing and the hand-over; each store says how a
/// batch is written (`commit`): one transaction, each job in its own savepoint so that one failing rolls
/// back alone, setting every job's `result`. If `commit` throws, nothing of the batch was committed.
public final class GroupCommit<Work, Output>: Sendable {
    /// `result` is written by the committing thread before `done` is signalled and read by the caller after
    /// it waited: the semaphore orders the two.
    public final class Job: @unchecked Sendable {
        public let work: Work
        public var result: Result<Output, Error>?
        let done = DispatchSemaphore(value: 0)
        init(_ work: Work) { self.work = work }
    }

    private let commit: @Sendable ([Job]) throws -> Void
    /// A plain mutex (`PlainLock`): every write takes it twice, from as many threads as there are workers.
    private let state = PlainLock<(pending: [Job], committing: Bool)>(([], false))

    public init(commit: @escaping @Sendable ([Job]) throws -> Void) { self.commit = commit }

    /// Writes queued for the next batch (what a test waits for before letting the current batch go).
    public var waiting: Int { state.withLock { $0.pending.count } }

    public func write(_ work: Work) throws -> Output {
        // From here on the caller waits on the disk (or commits for others, mostly waiting for the flush).
        WorkerTurn.stepAside()
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
            try commit(batch)
        } catch {
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
