import EdmoCore
import EdmoStore
import Foundation

/// `AnalyticsStore` on PostgreSQL: the behaviour of `SQLiteAnalyticsStore`. Reads come from
/// `analytics_daily`, which every conversation write updates in its own transaction
/// (`PostgresAnalyticsRollup`); keys and provider calls are in PostgresAnalyticsStore+Calls.swift.
public struct PostgresAnalyticsStore: AnalyticsStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    /// The conditions shared by the aggregate read and the recount: on the aggregates, '' is the row for
    /// "any assistant" (or number); on the conversations, only the analysed ended ones count.
    /// `grouped` by an assistant or number: the aggregate rows of each one (not '' = "any") are read.
    /// `hours` (`YYYY-MM-DDTHH`, both included) replace the filter's days, on a table with an `hour` column.
    static func conditions(_ f: AnalyticsFilter, aggregate: Bool, grouped: AnalyticsDimension? = nil, hours: HourRange? = nil) -> PostgresConditions {
        var c = PostgresConditions()
        if aggregate {
            for (dimension, value) in [(AnalyticsDimension.assistantId, f.assistantId), (.phoneNumberId, f.phoneNumberId)] {
                if grouped == dimension, let keys = hours?.groupKeys {
                    c.add("\(dimension.column) = ANY(?::text[])", PostgresTextArray(keys))
                    if let value { c.add("\(dimension.column) = ?", value) }
                } else if grouped == dimension {
                    c.add("\(dimension.column) <> ''")
                    if let value { c.add("\(dimension.column) = ?", value) }
                } else {
                    c.add("\(dimension.column) = ?", value ?? "")
                }
            }
        } else {
            c.add("status = ? AND sentiment IS NOT NULL AND resolution IS NOT NULL", ConversationStatus.ended.rawValue)
            if let a = f.assistantId { c.add("assistant_id = ?", a) }
            if let p = f.phoneNumberId { c.add("phone_number_id = ?", p) }
        }
        if let hours {
            if let only = hours.only {
                c.add("hour = ANY(?::text[])", PostgresTextArray(only))
            } else {
                c.add("hour >= ?", hours.from)
                c.add("hour <= ?", hours.to)
            }
        } else {
            c.add("day >= ?", f.fromDay)
            if let to = f.toDay { c.add("day <= ?", to) }
        }
        // ASCII letters only, whatever the database's locale: as SQLite's lower().
        if !aggregate, let needle = f.searchNeedle {
            c.add("strpos(translate(summary, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), ?) > 0", needle)
        }
        if let o = f.orgId { c.add("org_id = ?", o) }
        if let ch = f.channel { c.add("channel = ?", ch.rawValue) }
        if let s = f.sentiment { c.add("sentiment = ?", s.rawValue) }
        if let r = f.resolution { c.add("resolution = ?", r.rawValue) }
        return c
    }

    /// `count` and `duration` are the columns (or expressions) summed: one aggregate row stands for
    /// `conversations` conversations, one conversation for 1.
    static func counts(
        _ connection: PostgresConnection, table: String, count: String, duration: String, _ f: AnalyticsFilter, aggregate: Bool
    ) throws -> AnalyticsCounts {
        var c = conditions(f, aggregate: aggregate)
        let counted = Resolution.allCases.map { ("resolution", $0.rawValue) }
            + ConversationChannel.allCases.map { ("channel", $0.rawValue) } + Sentiment.allCases.map { ("sentiment", $0.rawValue) }
        let sums = counted.map { column, value in
            "COALESCE(SUM(CASE WHEN \(column) = \(c.bind("?", [value])) THEN \(count) END), 0) AS \"\(value)\""
        }
        let row = try connection.query(
            """
            SELECT COALESCE(SUM(\(count)), 0) AS total, COALESCE(SUM(\(duration)), 0) AS duration, \(sums.joined(separator: ", "))
            FROM \(table) WHERE \(c.whereClause)
            """,
            c.parameters)[0]
        var out = AnalyticsCounts()
        out.total = try row["total"]; out.durationSeconds = try row["duration"]
        out.resolved = try row["resolved"]; out.escalated = try row["escalated"]; out.failed = try row["failed"]
        out.web = try row["web"]; out.phone = try row["phone"]
        out.positive = try row["positive"]; out.neutral = try row["neutral"]; out.negative = try row["negative"]
        return out
    }

    public func counts(_ filter: AnalyticsFilter) throws -> AnalyticsCounts {
        try database.read { connection in
            try Self.counts(connection, table: "analytics_daily", count: "conversations", duration: "duration_seconds", filter, aggregate: true)
        }
    }

    public func recount(_ filter: AnalyticsFilter) throws -> AnalyticsCounts {
        try database.read { connection in try Self.recount(connection, filter) }
    }

    /// The conversations and the counts of the removed ones (`PostgresAnalyticsRollup.counted`), in one
    /// statement: one snapshot, so a removal committing meanwhile is counted once.
    static func recount(_ connection: PostgresConnection, _ filter: AnalyticsFilter) throws -> AnalyticsCounts {
        try counts(connection, table: PostgresAnalyticsRollup.counted, count: "n", duration: "duration_seconds", filter, aggregate: false)
    }

    public func conversations(_ filter: AnalyticsFilter, limit: Int, offset: Int) throws -> [ConversationRecord] {
        try database.read { connection in
            var c = Self.conditions(filter, aggregate: false)
            let limitAt = c.bind("?", [limit < 0 ? nil : limit]), offsetAt = c.bind("?", [max(offset, 0)])
            return try Self.newestFirst(connection, c, tail: "LIMIT \(limitAt) OFFSET \(offsetAt)")
        }
    }

    /// `(created_at, id) < cursor`: both columns are `COLLATE "C"`, so this is the order of SQLite's
    /// comparison of the same texts.
    public func conversations(_ filter: AnalyticsFilter, after cursor: ConversationCursor?, limit: Int) throws -> [ConversationRecord] {
        try database.read { connection in
            var c = Self.conditions(filter, aggregate: false)
            if let cursor { c.add("(created_at, id) < (?, ?)", cursor.createdAt, cursor.id) }
            let limitAt = c.bind("?", [limit < 0 ? nil : limit])
            return try Self.newestFirst(connection, c, tail: "LIMIT \(limitAt)")
        }
    }

    static func newestFirst(_ connection: PostgresConnection, _ c: PostgresConditions, tail: String) throws -> [ConversationRecord] {
        try connection.query(
            "SELECT \(ChatColumns.conversation) FROM conversations WHERE \(c.whereClause) ORDER BY created_at DESC, id DESC \(tail)",
            c.parameters
        ).rows.map(ConversationRecord.init(postgres:))
    }

    public func conversation(orgId: String?, id: String) throws -> ConversationRecord? {
        try database.read { connection in
            var c = PostgresConditions()
            c.add("id = ?", id)
            if let orgId { c.add("org_id = ?", orgId) }
            return try connection.query("SELECT \(ChatColumns.conversation) FROM conversations WHERE \(c.whereClause)", c.parameters)
                .first.map(ConversationRecord.init(postgres:))
        }
    }

    public func gapCounts(orgId: String?, assistantId: String?) throws -> (total: Int, high: Int) {
        try database.read { connection in
            var c = PostgresConditions()
            c.add("status = 'pending'")
            if let orgId { c.add("org_id = ?", orgId) }
            if let assistantId { c.add("assistant_id = ?", assistantId) }
            let row = try connection.query(
                "SELECT count(*) AS total, count(*) FILTER (WHERE priority = 'high') AS high FROM knowledge_gaps WHERE \(c.whereClause)",
                c.parameters)[0]
            return (try row["total"], try row["high"])
        }
    }

    public func rebuildAggregates() throws {
        try database.write { connection in try PostgresAnalyticsRollup.rebuild(connection) }
    }
}
