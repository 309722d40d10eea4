import EdmoStore
import Foundation
import Synchronization

/// The delivery threads of a process, and their stop. A thread claims up to ten deliveries at once and
/// posts them one after the other; on SIGTERM the ones not yet posted are given back (claimable at once by
/// the next process or another host, the attempt their claim counted taken back) instead of staying leased
/// until the lease runs out (25 s by default), and the stop waits a moment for the posts in hand.
public final class DeliveryWorkers: Sendable {
    let context: AppContext
    /// A delivery claimed by one of the threads (its lease's owner): a lease that ran out may have let
    /// another thread claim the same delivery.
    struct Claim: Hashable {
        var seq: Int
        var owner: String
    }

    /// Claimed and not yet posted; no more are held once stopping.
    private let state = Mutex<(stopping: Bool, unposted: Set<Claim>)>((false, []))
    let running = DispatchGroup()

    init(context: AppContext) { self.context = context }

    var stopping: Bool { state.withLock { $0.stopping } }

    /// Holds a claim's deliveries for posting; false when stopping (the claimer gives them back itself).
    func hold(_ seqs: [Int], owner: String) -> Bool {
        state.withLock { s in
            guard !s.stopping else { return false }
            for seq in seqs { s.unposted.insert(Claim(seq: seq, owner: owner)) }
            return true
        }
    }

    /// True when the claim is still held, now taken to be posted or given back; false when the stop gave
    /// it back.
    func take(_ seq: Int, owner: String) -> Bool { state.withLock { $0.unposted.remove(Claim(seq: seq, owner: owner)) != nil } }

    /// Stops the threads: gives back every delivery claimed and not posted, then waits up to `seconds` for
    /// the posts in hand to be recorded. Returns how many it gave back.
    @discardableResult
    public func stop(waiting seconds: Double) -> Int {
        let unposted = state.withLock { s in
            s.stopping = true
            defer { s.unposted = [] }
            return s.unposted
        }
        for (owner, held) in Dictionary(grouping: unposted, by: \.owner) {
            EventDelivery.giveBack(context, held.map(\.seq), owner: owner)
        }
        _ = running.wait(timeout: .now() + seconds)
        return unposted.count
    }
}
