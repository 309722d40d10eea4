import EdmoStore
import EdmoCore
import Foundation
import GRDB

public struct SQLiteAnalyticsStore: AnalyticsStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) { self.database = database }

    /// WHERE clause and arguments shared by the aggregate read and the recount.
    /// `grouped` by an assistant or number: the aggregate rows of each one (not '' = "any") are read.
    /// `hours` (`YYYY-MM-DDTHH`, both included) replace the filter's days, on a table with an `hour` column.
    static func conditions(
        _ f: AnalyticsFilter, aggregate: Bool, grouped: AnalyticsDimension? = nil, hours: HourRange? = nil
    ) -> (String, StatementArguments) {
        var parts: [String] = []
        var args: StatementArguments = []
        if aggregate {
            for (dimension, value) in [(AnalyticsDimension.assistantId, f.assistantId), (.phoneNumberId, f.phoneNumberId)] {
                if grouped == dimension, let keys = hours?.groupKeys {
                    parts.append("\(dimension.column) IN (SELECT value FROM json_each(?))"); args += [Self.jsonArray(keys)]
                    if let value { parts.append("\(dimension.column) = ?"); args += [value] }
                } else if grouped == dimension {
                    parts.append("\(dimension.column) <> ''")
                    if let value { parts.append("\(dimension.column) = ?"); args += [value] }
                } else {
                    parts.append("\(dimension.column) = ?"); args += [value ?? ""]
                }
            }
        } else {
            // `+status`: walk the (org, created_at, id) index newest first instead of the status index.
            parts.append("+status = ? AND sentiment IS NOT NULL AND resolution IS NOT NULL")
            args += [ConversationStatus.ended.rawValue]
            if let a = f.assistantId { parts.append("assistant_id = ?"); args += [a] }
            if let p = f.phoneNumberId { parts.append("phone_number_id = ?"); args += [p] }
        }
        if let hours {
            if let only = hours.only {
                // Without the range beside it, so that the planner seeks each hour rather than scanning the range.
                parts.append("hour IN (SELECT value FROM json_each(?))"); args += [Self.jsonArray(only)]
            } else {
                parts.append("hour >= ? AND hour <= ?"); args += [hours.from, hours.to]
            }
        } else {
            parts.append("day >= ?"); args += [f.fromDay]
            if let to = f.toDay { parts.append("day <= ?"); args += [to] }
        }
        // lower() changes ASCII letters only (SQLite without ICU), as the PostgreSQL store's translate().
        if !aggregate, let needle = f.searchNeedle { parts.append("instr(lower(summary), ?) > 0"); args += [needle] }
        if let o = f.orgId { parts.append("org_id = ?"); args += [o] }
        if let c = f.channel { parts.append("channel = ?"); args += [c.rawValue] }
        if let s = f.sentiment { parts.append("sentiment = ?"); args += [s.rawValue] }
        if let r = f.resolution { parts.append("resolution = ?"); args += [r.rawValue] }
        return (parts.joined(separator: " AND "), args)
    }

    /// Strings as a JSON array, one parameter for `json_each` whatever their number.
    static func jsonArray(_ values: [String]) -> String {
        let encoded = try! JSONEncoder().encode(values)
        return String(decoding: encoded, as: UTF8.self)
    }

    /// The sums of a counts query: `total`, `duration`, and one per counted value, named by its raw value.
    struct CountsRow: Decodable, FetchableRecord {
        var total, duration, resolved, escalated, failed, web, phone, positive, neutral, negative: Int

        var counts: AnalyticsCounts {
            var out = AnalyticsCounts()
            out.total = total; out.durationSeconds = duration
            out.resolved = resolved; out.escalated = escalated; out.failed = failed
            out.web = web; out.phone = phone; out.positive = positive; out.neutral = neutral; out.negative = negative
            return out
        }
    }

    static func counts(_ db: GRDB.Database, table: String, count: String, duration: String, _ f: AnalyticsFilter, aggregate: Bool) throws -> AnalyticsCounts {
        let (whereClause, args) = conditions(f, aggregate: aggregate)
        let counted = Resolution.allCases.map { ("resolution", $0.rawValue) }
            + ConversationChannel.allCases.map { ("channel", $0.rawValue) } + Sentiment.allCases.map { ("sentiment", $0.rawValue) }
        let sums = counted.map { column, value in "COALESCE(SUM(CASE WHEN \(column) = ? THEN \(count) END), 0) AS \"\(value)\"" }
        return try CountsRow.fetchOne(
            db,
            sql: """
                SELECT COALESCE(SUM(\(count)), 0) AS total, COALESCE(SUM(\(duration)), 0) AS duration, \(sums.joined(separator: ", "))
                FROM \(table) WHERE \(whereClause)
                """,
            arguments: StatementArguments(counted.map(\.1)) + args
        )!.counts
    }

    public func counts(_ filter: AnalyticsFilter) throws -> AnalyticsCounts {
        try database.read { db in
            try Self.counts(db, table: "analytics_daily", count: "conversations", duration: "duration_seconds", filter, aggregate: true)
        }
    }

    public func recount(_ filter: AnalyticsFilter) throws -> AnalyticsCounts {
        try database.read { db in try Self.recount(db, filter) }
    }

    /// The conversations and the counts of the removed ones (`AnalyticsRollup.counted`), in one statement:
    /// one snapshot, so a removal committing meanwhile is counted once.
    static func recount(_ db: GRDB.Database, _ filter: AnalyticsFilter) throws -> AnalyticsCounts {
        try counts(db, table: AnalyticsRollup.counted, count: "n", duration: "duration_seconds", filter, aggregate: false)
    }

    public func conversations(_ filter: AnalyticsFilter, limit: Int, offset: Int) throws -> [ConversationRecord] {
        try database.read { db in
            let (whereClause, args) = Self.conditions(filter, aggregate: false)
            return try ConversationRow.fetchAll(
                db,
                sql: "SELECT * FROM conversations WHERE \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                arguments: args + [limit, offset]
            ).map(\.record)
        }
    }

    public func conversations(_ filter: AnalyticsFilter, after cursor: ConversationCursor?, limit: Int) throws -> [ConversationRecord] {
        try database.read { db in
            var (whereClause, args) = Self.conditions(filter, aggregate: false)
            if let cursor {
                whereClause += " AND (created_at, id) < (?, ?)"
                args += [cursor.createdAt, cursor.id]
            }
            return try ConversationRow.fetchAll(
                db,
                sql: "SELECT * FROM conversations WHERE \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?",
                arguments: args + [limit]
            ).map(\.record)
        }
    }

    public func conversation(orgId: String?, id: String) throws -> ConversationRecord? {
        try database.read { db in
            var sql = "SELECT * FROM conversations WHERE id = ?"
            var args: StatementArguments = [id]
            if let orgId { sql += " AND org_id = ?"; args += [orgId] }
            return try ConversationRow.fetchOne(db, sql: sql, arguments: args)?.record
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
        // Alone: a rebuild rewrites every aggregate, too long to hold other writes in its batch.
        try database.writeAlone { db in try AnalyticsRollup.rebuild(db) }
    }

    // MARK: keys

    public func createKey(_ key: AnalyticsKey, hash: String) throws {
        try database.write { db in try AnalyticsKeyRow(key, hash: hash).insert(db) }
    }

    public func keys(orgId: String) throws -> [AnalyticsKey] {
        try database.read { db in
            try AnalyticsKeyRow.fetchAll(
                db, sql: "SELECT * FROM analytics_keys WHERE org_id = ? ORDER BY created_at DESC, id DESC", arguments: [orgId]
            ).map(\.key)
        }
    }

    public func key(hash: String) throws -> AnalyticsKey? {
        try database.read { db in
            try AnalyticsKeyRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM analytics_keys WHERE key_hash = ?"), arguments: [hash])?.key
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

    public func upsertCall(
        _ record: ConversationRecord, messages: [ConversationMessage], erasedKey: String?, event: OutboxEvent?
    ) throws -> Bool {
        try database.write { db in
            if let erasedKey, try ConversationRemoval.isErased(db, key: erasedKey) { return false }
            if let existing = try ConversationRows.find(db, id: record.id) {
                guard existing.orgId == record.orgId else { throw StoreError.conflict("This call id belongs to another organisation") }
                if let stored = existing.reportedAt, let incoming = record.reportedAt, incoming <= stored { return false }
                try AnalyticsRollup.apply(db, existing, sign: -1)
                try db.execute(sql: "DELETE FROM conversations WHERE id = ?", arguments: [record.id])
            }
            try ConversationRows.insert(db, record)
            try ConversationRows.append(db, conversationId: record.id, messages)
            try SQLiteOutbox.write(db, event)
            return true
        }
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

/// A row of `analytics_keys`: the key itself is never stored, only its hash.
struct AnalyticsKeyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "analytics_keys"

    var id: String
    var orgId: String
    var name: String?
    var keyHash: String
    var prefix: String
    var createdAt: String
    var revokedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, orgId = "org_id", name, keyHash = "key_hash", prefix, createdAt = "created_at", revokedAt = "revoked_at"
    }

    init(_ key: AnalyticsKey, hash: String) {
        id = key.id; orgId = key.orgId; name = key.name; keyHash = hash; prefix = key.prefix
        createdAt = key.createdAt; revokedAt = key.revokedAt
    }

    var key: AnalyticsKey {
        AnalyticsKey(id: id, orgId: orgId, name: name, prefix: prefix, createdAt: createdAt, revokedAt: revokedAt)
    }
}
