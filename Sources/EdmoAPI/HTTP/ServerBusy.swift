import Foundation

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

/// A counting gate with a bounded wait, shared by every worker thread of a process. Caps are per host by
/// design: each `edmo` process has its own (limits that must hold across hosts live in the database).
public final class CapacityGate: Sendable {
    public let limit: Int
    public let resource: String
    public let waitSeconds: TimeInterval
    private let slots: DispatchSemaphore

    public init(limit: Int, resource: String, waitSeconds: TimeInterval) {
        self.limit = max(1, limit)
        self.resource = resource
        self.waitSeconds = max(0, waitSeconds)
        slots = DispatchSemaphore(value: self.limit)
    }

    /// Runs `body` holding one slot; throws `ServerBusyError` when none frees up within `waitSeconds`.
    public func run<T>(_ body: () throws -> T) throws -> T {
        guard slots.wait(timeout: .now() + waitSeconds) == .success else {
            throw ServerBusyError(resource: resource, waited: waitSeconds)
        }
        defer { slots.signal() }
        return try body()
    }
}
