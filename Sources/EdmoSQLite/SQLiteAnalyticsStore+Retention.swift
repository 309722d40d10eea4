import EdmoCore
import EdmoStore
import Foundation
import GRDB

/// Retention and erasure on SQLite: each batch or erasure is one write transaction on the one writer.
extension SQLiteAnalyticsStore {
    public func removeConversations(orgId: String, createdBefore cutoff: Date, limit: Int) throws -> RemovedCounts {
        try database.write { db in
            // The (org_id, created_at, id) index, oldest first.
            let ids = try String.fetchAll(
                db, sql: "SELECT id FROM conversations WHERE org_id = ? AND created_at < ? ORDER BY created_at, id LIMIT ?",
                arguments: [orgId, Timestamp.format(cutoff), limit])
            return try ConversationRemoval.remove(db, ids: ids)
        }
    }

    public func erase(orgId: String, _ selector: ErasureSelector, erasedKey: (String) -> String, now: Date) throws -> RemovedCounts {
        try database.write { db in
            let ids: [String]
            switch selector {
            case .phoneNumber(let number):
                ids = try String.fetchAll(
                    db, sql: "SELECT id FROM conversations WHERE org_id = ? AND customer_number = ?", arguments: [orgId, number])
            case .conversationId(let id):
                ids = try String.fetchAll(db, sql: "SELECT id FROM conversations WHERE org_id = ? AND id = ?", arguments: [orgId, id])
            }
            for id in ids {
                try db.execute(
                    sql: "INSERT INTO erased_conversations (id_hash, org_id, erased_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    arguments: [erasedKey(id), orgId, Timestamp.format(now)])
            }
            try SQLiteOutbox.erase(db, subjects: ids, now: now)
            return try ConversationRemoval.remove(db, ids: ids)
        }
    }
}

/// Removing conversations inside the caller's transaction, their counts kept in `analytics_retired` (and
/// `analytics_retired_hourly`).
enum ConversationRemoval {
    static func isErased(_ db: GRDB.Database, key: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM erased_conversations WHERE id_hash = ?)"), arguments: [key]) ?? false
    }

    /// The analytics aggregates are left as they are: they go on counting the removed conversations, which
    /// the recount and the rebuild now find in `analytics_retired` (`AnalyticsRollup.counted`).
    static func remove(_ db: GRDB.Database, ids: [String]) throws -> RemovedCounts {
        guard !ids.isEmpty else { return RemovedCounts() }
        let marks = databaseQuestionMarks(count: ids.count)
        let none = AnalyticsRollup.none
        // Per day and per UTC hour, beside the daily and hourly aggregates.
        for (table, period, value) in [("analytics_retired", "day", "day"), ("analytics_retired_hourly", "hour", "substr(created_at, 1, 13)")] {
            try db.execute(
                sql: """
                    INSERT INTO \(table) (assistant_id, phone_number_id, \(period), org_id, channel, sentiment, resolution,
                                          conversations, duration_seconds)
                    SELECT COALESCE(assistant_id, '\(none)'), COALESCE(phone_number_id, '\(none)'), \(value), org_id, channel,
                           sentiment, resolution, COUNT(*), SUM(duration_seconds)
                    FROM conversations
                    WHERE id IN (\(marks)) AND status = ? AND sentiment IS NOT NULL AND resolution IS NOT NULL
                    GROUP BY 1, 2, 3, org_id, channel, sentiment, resolution
                    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations,
                                              duration_seconds = duration_seconds + excluded.duration_seconds
                    """,
                arguments: StatementArguments(ids) + [ConversationStatus.ended.rawValue])
        }
        try db.execute(sql: "DELETE FROM conversation_messages WHERE conversation_id IN (\(marks))", arguments: StatementArguments(ids))
        let messages = db.changesCount
        try db.execute(sql: "DELETE FROM conversations WHERE id IN (\(marks))", arguments: StatementArguments(ids))
        return RemovedCounts(conversations: db.changesCount, messages: messages)
    }
}
