import EdmoCore
import EdmoStore
import Foundation

/// Retention and erasure on PostgreSQL: the behaviour of SQLite's, safe with several hosts. The rows to
/// remove are locked first: a retention batch skips those another host is removing or a chat turn is
/// writing (they are taken by a later batch); an erasure waits for them, so what it removes is what they
/// left.
extension PostgresAnalyticsStore {
    public func removeConversations(orgId: String, createdBefore cutoff: Date, limit: Int) throws -> RemovedCounts {
        try database.write { connection in
            let ids: [String] = try connection.query(
                """
                SELECT id FROM conversations WHERE org_id = $1 AND created_at < $2 ORDER BY created_at, id LIMIT $3
                FOR UPDATE SKIP LOCKED
                """,
                [orgId, cutoff, max(limit, 0)]
            ).rows.map { try $0["id"] }
            return try PostgresConversationRemoval.remove(connection, ids: ids)
        }
    }

    public func erase(orgId: String, _ selector: ErasureSelector, erasedKey: (String) -> String, now: Date) throws -> RemovedCounts {
        try database.write { connection in
            let column: String, value: String
            switch selector {
            case .phoneNumber(let number): (column, value) = ("customer_number", number)
            case .conversationId(let id): (column, value) = ("id", id)
            }
            let ids: [String] = try connection.query(
                "SELECT id FROM conversations WHERE org_id = $1 AND \(column) = $2 ORDER BY id FOR UPDATE", [orgId, value]
            ).rows.map { try $0["id"] }
            guard !ids.isEmpty else { return RemovedCounts() }
            try connection.execute(
                """
                INSERT INTO erased_conversations (id_hash, org_id, erased_at) SELECT unnest($1::text[]), $2, $3
                ON CONFLICT (id_hash) DO NOTHING
                """,
                [PostgresTextArray(ids.map(erasedKey)), orgId, now])
            try PostgresOutbox.erase(connection, subjects: ids, now: now)
            return try PostgresConversationRemoval.remove(connection, ids: ids)
        }
    }
}

/// Removing locked conversations inside the caller's transaction, their counts kept in `analytics_retired`
/// and `analytics_retired_hourly` (`ConversationRemoval` on SQLite).
enum PostgresConversationRemoval {
    static func isErased(_ connection: PostgresConnection, key: String) throws -> Bool {
        try connection.query("SELECT 1 FROM erased_conversations WHERE id_hash = $1", [key]).first != nil
    }

    /// The aggregates are left as they are (they go on counting the removed conversations). The counts are
    /// written before the rows are deleted, so a rebuild, which locks `analytics_retired`, sees each
    /// conversation either still stored or retired; they are written in key order, so two hosts' removals
    /// never wait for each other's rows the other way round.
    static func remove(_ connection: PostgresConnection, ids: [String]) throws -> RemovedCounts {
        guard !ids.isEmpty else { return RemovedCounts() }
        let none = PostgresAnalyticsRollup.none
        let batch = PostgresTextArray(ids)
        // Per UTC hour, then per day: the order the rebuild locks them in.
        for (table, period, value) in [("analytics_retired_hourly", "hour", "substr(created_at, 1, 13)"), ("analytics_retired", "day", "day")] {
            try connection.execute(
                """
                INSERT INTO \(table) (assistant_id, phone_number_id, \(period), org_id, channel, sentiment, resolution,
                                      conversations, duration_seconds)
                SELECT COALESCE(assistant_id, '\(none)'), COALESCE(phone_number_id, '\(none)'), \(value), org_id, channel, sentiment,
                       resolution, count(*), sum(duration_seconds)
                FROM conversations
                WHERE id = ANY($1::text[]) AND status = $2 AND sentiment IS NOT NULL AND resolution IS NOT NULL
                GROUP BY 1, 2, 3, org_id, channel, sentiment, resolution
                ORDER BY 3, 4, 5, 6, 7, 1, 2
                ON CONFLICT (assistant_id, phone_number_id, \(period), org_id, channel, sentiment, resolution) DO UPDATE SET
                    conversations = \(table).conversations + excluded.conversations,
                    duration_seconds = \(table).duration_seconds + excluded.duration_seconds
                """,
                [batch, ConversationStatus.ended.rawValue])
        }
        let messages = try connection.execute("DELETE FROM conversation_messages WHERE conversation_id = ANY($1::text[])", [batch])
        let conversations = try connection.execute("DELETE FROM conversations WHERE id = ANY($1::text[])", [batch])
        return RemovedCounts(conversations: conversations, messages: messages)
    }
}
