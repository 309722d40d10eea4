import EdmoCore
import EdmoStore
import Foundation

extension PostgresDatabase: StoreHealth {
    public var engine: String { "postgres" }

    /// A trivial query on a pooled connection (reopened if the server dropped it).
    public func ping() throws {
        try pool.read { connection in _ = try connection.query("SELECT 1 AS one") }
    }

    /// Counts over `provider_operations` (a handful of rows), the `conversations_open` index and the pending
    /// deliveries' index (`webhook_deliveries_due`).
    public func backlog(now: Date, idleBefore cutoff: Date) throws -> StoreBacklog {
        try pool.read { connection in
            let row = try connection.query(
                """
                SELECT (SELECT count(*) FROM provider_operations) AS operations,
                       (SELECT count(*) FROM conversations WHERE status = $1) AS open,
                       (SELECT count(*) FROM conversations WHERE status = $1 AND last_activity_at < $2) AS idle,
                       (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
                       (SELECT count(*) FROM webhook_deliveries d WHERE \(PostgresWebhookStore.claimable(now: "$3"))) AS due
                """,
                [ConversationStatus.inProgress.rawValue, cutoff, now])[0]
            return StoreBacklog(
                providerOperations: try row["operations"], openConversations: try row["open"], idleConversations: try row["idle"],
                pendingDeliveries: try row["pending"], dueDeliveries: try row["due"])
        }
    }
}
