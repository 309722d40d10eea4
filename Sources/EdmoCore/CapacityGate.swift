import Foundation
import Synchronization

/// A per-host capacity limit was reached: every password-hashing slot or every outbound-call slot is taken
/// and did not free up within its bounded wait. `ErrorResponder` answers 503 with `Retry-After`, so the
/// worker is back for other requests at once instead of queueing behind the slow ones.
public struct ServerBusyError: Error, Equatable, CustomStringConvertible {
    /// What was full: "password hashing", "outbound calls".
    public var resource: String
    public var waited: TimeInterval

    public init(resource: String, waited: TimeInterval) {
        self.resource = resource
        self.waited = waited
    }

    public var description: String { "busy: every \(resource) slot stayed taken for \(waited) s" }

    /// The body every busy answer carries.
    public static let message = "The server is busy; try again shortly"
    /// Seconds a client should wait before retrying.
    public static let retryAfterSeconds = 1
}

/// A counting gate with a bounded wait and a bounded queue, shared by every worker thread of a process.
/// Only `maxWaiting` callers (by default half the slots, at least one) may wait for a slot, each at most `waitSeconds`;
/// anyone beyond that is turned away at once. A flood (hundreds of logins) is then shed in microseconds
/// instead of holding every worker in line, so other requests keep being served. Caps are per host by
/// design: each `edmo` process has its own (limits that must hold across hosts live in the database).
public final class CapacityGate: Sendable {
    public let limit: Int
    public let maxWaiting: Int
    public let resource: String
    public let waitSeconds: TimeInterval
    private let slots: DispatchSemaphore
    private let waiting = Atomic<Int>(0)
    private let held = Atomic<Int>(0)

    public init(limit: Int, resource: String, waitSeconds: TimeInterval, maxWaiting: Int? = nil) {
        self.limit = max(1, limit)
        self.maxWaiting = max(1, maxWaiting ?? self.limit / 2)
        self.resource = resource
        self.waitSeconds = max(0, waitSeconds)
        slots = DispatchSemaphore(value: self.limit)
    }

    /// Callers waiting for a slot now.
    public var queued: Int { waiting.load(ordering: .relaxed) }
    /// Slots taken now.
    public var inUse: Int { held.load(ordering: .relaxed) }

    /// Runs `body` holding one slot; throws `ServerBusyError` when none is free and the queue is full, or
    /// none frees up within `waitSeconds`.
    /// `queueLimited: false` is for callers that cannot flood (an admin's authenticated work): they wait
    /// up to `waitSeconds` however long the queue is, and do not count in it.
    public func run<T>(queueLimited: Bool = true, _ body: () throws -> T) throws -> T {
        try acquire(queueLimited: queueLimited)
        defer { release() }
        return try body()
    }

    /// One slot, held until the returned value is released: for work that outlives the call that admits it
    /// (a streamed response, produced after its handler returned). Throws as `run` does.
    public func hold() throws -> Slot {
        try acquire(queueLimited: true)
        return Slot(self)
    }

    /// A held slot; it frees itself when the last reference goes, whichever way the work ended.
    public final class Slot: Sendable {
        let gate: CapacityGate
        init(_ gate: CapacityGate) { self.gate = gate }
        deinit { gate.release() }
    }

    private func acquire(queueLimited: Bool) throws {
        if slots.wait(timeout: .now()) != .success {
            let queued = queueLimited ? waiting.wrappingAdd(1, ordering: .relaxed).newValue : 0
            defer { if queueLimited { waiting.wrappingSubtract(1, ordering: .relaxed) } }
            guard queued <= maxWaiting, slots.wait(timeout: .now() + waitSeconds) == .success else {
                throw ServerBusyError(resource: resource, waited: queued <= maxWaiting ? waitSeconds : 0)
            }
        }
        held.add(1, ordering: .relaxed)
    }

    private func release() {
        held.subtract(1, ordering: .relaxed)
        slots.signal()
    }
}
