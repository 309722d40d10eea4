import EdmoStore
import EdmoCore
import Foundation
import GRDB

/// Keeps `analytics_daily` equal to a count of the analysed conversations; called inside the transaction
/// that writes the conversation.
enum AnalyticsRollup {
    /// Marks "no assistant / no number" so that it differs from '' ("any").
    static let none = "-"

    static func apply(_ db: GRDB.Database, _ c: ConversationRecord, sign: Int) throws {
        guard c.isCounted, let sentiment = c.sentiment, let resolution = c.resolution else { return }
        let assistant = c.assistantId ?? none, number = c.phoneNumberId ?? none
        for (a, p) in [(assistant, number), (assistant, ""), ("", number), ("", "")] {
            // Cached: this runs four times for every conversation written.
            try db.cachedStatement(
                sql: """
                    INSERT INTO analytics_daily (assistant_id, phone_number_id, day, org_id, channel, sentiment, resolution,
                                                 conversations, duration_seconds)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations,
                                              duration_seconds = duration_seconds + excluded.duration_seconds
                    """
            ).execute(arguments: [a, p, c.day, c.orgId, c.channel, sentiment, resolution, sign, sign * c.durationSeconds])
        }
        if sign < 0 {
            try db.execute(sql: "DELETE FROM analytics_daily WHERE conversations = 0 AND day = ? AND org_id = ?", arguments: [c.day, c.orgId])
        }
    }
}

public struct SQLiteAnalyticsStore: AnalyticsStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) { self.database = database }

    /// WHERE clause and arguments shared by the aggregate read and the recount.
    static func conditions(_ f: AnalyticsFilter, aggregate: Bool) -> (String, StatementArguments) {
        var parts: [String] = []
        var args: StatementArguments = []
        if aggregate {
            parts.append("assistant_id = ?"); args += [f.assistantId ?? ""]
            parts.append("phone_number_id = ?"); args += [f.phoneNumberId ?? ""]
        } else {
            // `+status`: walk the (org, created_at, id) index newest first instead of the status index.
            parts.append("+status = 'ended' AND sentiment IS NOT NULL AND resolution IS NOT NULL")
            if let a = f.assistantId { parts.append("assistant_id = ?"); args += [a] }
            if let p = f.phoneNumberId { parts.append("phone_number_id = ?"); args += [p] }
        }
        parts.append("day >= ?"); args += [f.fromDay]
        if let o = f.orgId { parts.append("org_id = ?"); args += [o] }
        if let c = f.channel { parts.append("channel = ?"); args += [c] }
        if let s = f.sentiment { parts.append("sentiment = ?"); args += [s] }
        if let r = f.resolution { parts.append("resolution = ?"); args += [r] }
        return (parts.joined(separator: " AND "), args)
    }

    static func counts(_ db: GRDB.Database, table: String, count: String, duration: String, _ f: AnalyticsFilter, aggregate: Bool) throws -> AnalyticsCounts {
        let (whereClause, args) = conditions(f, aggregate: aggregate)
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT COALESCE(SUM(\(count)), 0) AS total,
                       COALESCE(SUM(CASE WHEN resolution = 'resolved' THEN \(count) END), 0) AS resolved,
                       COALESCE(SUM(CASE WHEN resolution = 'escalated' THEN \(count) END), 0) AS escalated,
                       COALESCE(SUM(CASE WHEN resolution = 'failed' THEN \(count) END), 0) AS failed,
                       COALESCE(SUM(\(duration)), 0) AS duration,
                       COALESCE(SUM(CASE WHEN channel = 'web' THEN \(count) END), 0) AS web,
                       COALESCE(SUM(CASE WHEN channel = 'phone' THEN \(count) END), 0) AS phone,
                       COALESCE(SUM(CASE WHEN sentiment = 'positive' THEN \(count) END), 0) AS positive,
                       COALESCE(SUM(CASE WHEN sentiment = 'neutral' THEN \(count) END), 0) AS neutral,
                       COALESCE(SUM(CASE WHEN sentiment = 'negative' THEN \(count) END), 0) AS negative
                FROM \(table) WHERE \(whereClause)
                """,
            arguments: args)!
        var out = AnalyticsCounts()
        out.total = row["total"]; out.resolved = row["resolved"]; out.escalated = row["escalated"]; out.failed = row["failed"]
        out.durationSeconds = row["duration"]; out.web = row["web"]; out.phone = row["phone"]
        out.positive = row["positive"]; out.neutral = row["neutral"]; out.negative = row["negative"]
        return out
    }

    public func counts(_ filter: AnalyticsFilter) throws -> AnalyticsCounts {
        try database.read { db in
            try Self.counts(db, table: "analytics_daily", count: "conversations", duration: "duration_seconds", filter, aggregate: true)
        }
    }

    public func recount(_ filter: AnalyticsFilter) throws -> AnalyticsCounts {
        try database.read { db in
            try Self.counts(db, table: "conversations", count: "1", duration: "duration_seconds", filter, aggregate: false)
        }
    }

    public func conversations(_ filter: AnalyticsFilter, limit: Int, offset: Int) throws -> [ConversationRecord] {
        try database.read { db in
            let (whereClause, args) = Self.conditions(filter, aggregate: false)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(SQLiteChatStore.conversationColumns) FROM conversations WHERE \(whereClause)
                    ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?
                    """,
                arguments: args + [limit, offset]
            ).map(SQLiteChatStore.conversation)
        }
    }

    public func conversation(orgId: String?, id: String) throws -> ConversationRecord? {
        try database.read { db in
            var sql = "SELECT \(SQLiteChatStore.conversationColumns) FROM conversations WHERE id = ?"
            var args: StatementArguments = [id]
            if let orgId { sql += " AND org_id = ?"; args += [orgId] }
            return try Row.fetchOne(db, sql: sql, arguments: args).map(SQLiteChatStore.conversation)
        }
    }

    public func gapCounts(orgId: String?, assistantId: String?) throws -> (total: Int, high: Int) {
        try database.read { db in
            var sql = "SELECT COUNT(*) AS total, COALESCE(SUM(priority = 'high'), 0) AS high FROM knowledge_gaps WHERE status = 'pending'"
            var args: StatementArguments = []
            if let orgId { sql += " AND org_id = ?"; args += [orgId] }
            if let assistantId { sql += " AND assistant_id = ?"; args += [assistantId] }
            let row = try Row.fetchOne(db, sql: sql, arguments: args)!
            return (row["total"], row["high"])
        }
    }

    public func rebuildAggregates() throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM analytics_daily")
            let none = AnalyticsRollup.none
            // The four groupings of AnalyticsRollup.apply, each in one statement.
            for (a, p) in [("COALESCE(assistant_id, '\(none)')", "COALESCE(phone_number_id, '\(none)')"),
                           ("COALESCE(assistant_id, '\(none)')", "''"), ("''", "COALESCE(phone_number_id, '\(none)')"), ("''", "''")] {
                try db.execute(
                    sql: """
                        INSERT INTO analytics_daily (assistant_id, phone_number_id, day, org_id, channel, sentiment, resolution,
                                                     conversations, duration_seconds)
                        SELECT \(a), \(p), day, org_id, channel, sentiment, resolution, COUNT(*), SUM(duration_seconds)
                        FROM conversations
                        WHERE status = 'ended' AND sentiment IS NOT NULL AND resolution IS NOT NULL
                        GROUP BY 1, 2, day, org_id, channel, sentiment, resolution
                        """)
            }
        }
    }

    // MARK: keys

    static func key(_ row: Row) -> AnalyticsKey {
        AnalyticsKey(id: row["id"], orgId: row["org_id"], name: row["name"], prefix: row["prefix"], createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }

    public func createKey(_ key: AnalyticsKey, hash: String) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO analytics_keys (id, org_id, name, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [key.id, key.orgId, key.name, hash, key.prefix, key.createdAt])
        }
    }

    public func keys(orgId: String) throws -> [AnalyticsKey] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM analytics_keys WHERE org_id = ? ORDER BY created_at DESC, id DESC", arguments: [orgId]).map(Self.key)
        }
    }

    public func key(hash: String) throws -> AnalyticsKey? {
        try database.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM analytics_keys WHERE key_hash = ?"), arguments: [hash]).map(Self.key)
        }
    }

    public func revokeKey(orgId: String, id: String, now: Date) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE analytics_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND org_id = ?",
                arguments: [Timestamp.format(now), id, orgId])
            guard db.changesCount == 1 else { throw StoreError.notFound("Analytics key") }
        }
    }

    // MARK: provider calls

    public func upsertCall(_ record: ConversationRecord, messages: [ConversationMessage]) throws -> Bool {
        try EdmoDatabase.translatingFull { try database.groupCommit.write { db in
            if let existing = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(SQLiteChatStore.conversationColumns) FROM conversations WHERE id = ?"),
                arguments: [record.id]
            ).map(SQLiteChatStore.conversation) {
                guard existing.orgId == record.orgId else { throw StoreError.conflict("This call id belongs to another organisation") }
                if let stored = existing.reportedAt, let incoming = record.reportedAt, incoming <= stored { return false }
                try AnalyticsRollup.apply(db, existing, sign: -1)
                try db.execute(sql: "DELETE FROM conversations WHERE id = ?", arguments: [record.id])
            }
            try SQLiteChatStore.insertConversation(db, record)
            try SQLiteChatStore.append(db, record.id, messages)
            return true
        } }
    }

    public func importCursor(_ name: String) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT cursor FROM import_state WHERE name = ?", arguments: [name]) }
    }

    public func setImportCursor(_ name: String, _ cursor: String) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO import_state (name, cursor) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET cursor = excluded.cursor",
                arguments: [name, cursor])
        }
    }
}
