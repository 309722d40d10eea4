@testable import EdmoCore
import Foundation
import Testing

/// `WorkerTurns`: no more workers than turns serve at once; a worker keeps its turn from one request to the
/// next, and one that steps aside (to wait on a commit or another server) lets a waiting worker in.
struct WorkerTurnsTests {
    /// Runs `body` on a thread of its own; the semaphore is signalled when it returns.
    static func thread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread { body(); done.signal() }.start()
        return done
    }

    @Test func aWorkerWaitsForATurnUntilAnotherStepsAside() {
        let turns = WorkerTurns(1)
        let first = WorkerTurn(turns), second = WorkerTurn(turns)
        first.takeIfGiven()
        first.takeIfGiven()  // kept: a second request of the same worker does not wait
        let entered = Self.thread { second.takeIfGiven() }
        #expect(entered.wait(timeout: .now() + 0.3) == .timedOut)  // the only turn is taken
        WorkerTurn.$current.withValue(first) { WorkerTurn.stepAside() }
        #expect(entered.wait(timeout: .now() + 10) == .success)
        // The first worker, done with its request, now waits for the turn the second one holds.
        let back = Self.thread { first.takeIfGiven() }
        #expect(back.wait(timeout: .now() + 0.3) == .timedOut)
        second.give()
        #expect(back.wait(timeout: .now() + 10) == .success)
        first.give()
    }

    @Test func steppingAsideOutsideAWorkerChangesNothing() {
        let turns = WorkerTurns(1)
        WorkerTurn.stepAside()  // no worker on this thread
        let worker = WorkerTurn(turns)
        let entered = Self.thread { worker.takeIfGiven() }
        #expect(entered.wait(timeout: .now() + 10) == .success)
        worker.give()
        worker.give()  // given once only: the turn is not counted twice
        let a = WorkerTurn(turns), b = WorkerTurn(turns)
        a.takeIfGiven()
        let blocked = Self.thread { b.takeIfGiven() }
        #expect(blocked.wait(timeout: .now() + 0.3) == .timedOut)
        a.give()
        #expect(blocked.wait(timeout: .now() + 10) == .success)
        b.give()
    }
}
