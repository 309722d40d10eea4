import Dispatch

/// How many workers serve requests at once, apart from how many threads there are. A request that waits on
/// the disk (its shared commit, `GroupCommit`) hands its worker's turn to an idle thread, so a burst of writes
/// has more of them in each commit, while reads (which never wait) run on no more threads than before: more
/// threads than cores serving reads cost a quarter of `GET /api/auth/me` (bench/README "Issue 14, session 7").
public final class WorkerTurns: Sendable {
    let permits: DispatchSemaphore

    public init(_ count: Int) { permits = DispatchSemaphore(value: max(count, 1)) }
}

/// One worker thread's turn: taken before a request and kept for the next, unless the request gave it up
/// because it was about to wait on something other than the CPU (`stepAside`). Used by its own thread only.
public final class WorkerTurn: @unchecked Sendable {
    /// The turn of the worker running on this thread (bound for the thread's whole life).
    @TaskLocal public static var current: WorkerTurn?

    let turns: WorkerTurns
    var holding = false

    public init(_ turns: WorkerTurns) { self.turns = turns }

    /// Before a request: waits for a turn unless this worker still has its own.
    public func takeIfGiven() {
        guard !holding else { return }
        turns.permits.wait()
        holding = true
    }

    public func give() {
        guard holding else { return }
        holding = false
        turns.permits.signal()
    }

    /// The rest of this request is mostly waiting: another worker may serve meanwhile. The request goes on
    /// without a turn (it ends soon after the wait); its worker takes one again before its next request.
    public static func stepAside() { current?.give() }
}
