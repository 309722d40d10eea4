import Foundation

/// What an operator asks of the store behind a host: does it answer (`GET /api/health`, for nginx and load
/// balancers), and how much background work waits in it (the metrics). Both are cheap: one trivial query,
/// and a few counts over small tables or an index.
public protocol StoreHealth: Sendable {
    /// `sqlite` or `postgres`, as `/api/health` names it.
    var engine: String { get }
    /// Reads from the database; throws when it cannot (the file is gone or replaced, the server is down,
    /// the database was dropped).
    func ping() throws
    /// Background work waiting in the store at `now`; `cutoff` is the idle-chat sweep's (now minus
    /// `EDMO_CHAT_IDLE_SECONDS`).
    func backlog(now: Date, idleBefore cutoff: Date) throws -> StoreBacklog
}

public struct StoreBacklog: Sendable, Equatable {
    /// Provider writes begun and not settled (`provider_operations`): in flight now, or left by a crashed
    /// process for the next start's recovery.
    public var providerOperations: Int
    /// Conversations in progress.
    public var openConversations: Int
    /// Of those, the ones idle since before the cutoff: what the idle-chat sweep will end and analyse next.
    public var idleConversations: Int
    /// Outbound event deliveries not yet delivered, failed or cancelled: waiting for their attempt, for an
    /// earlier one of their endpoint and subject, or for a retry.
    public var pendingDeliveries: Int
    /// Of those, the ones a delivery thread could claim now (due, not in flight, their endpoint enabled, no
    /// earlier one of their endpoint and subject pending): what the delivery threads have to catch up on.
    public var dueDeliveries: Int

    public init(providerOperations: Int, openConversations: Int, idleConversations: Int, pendingDeliveries: Int = 0,
                dueDeliveries: Int = 0) {
        self.providerOperations = providerOperations
        self.openConversations = openConversations
        self.idleConversations = idleConversations
        self.pendingDeliveries = pendingDeliveries
        self.dueDeliveries = dueDeliveries
    }
}

/// The store cannot answer: why, for the log (never shown to clients).
public struct StoreUnavailable: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
