import EdmoCore
import EdmoStore
import Foundation

extension PostgresAnalyticsStore {
    public func dailyCounts(_ filter: AnalyticsFilter, groupBy: AnalyticsDimension?, recount: Bool) throws -> [AnalyticsDailyCounts] {
        try database.read { connection in
            let (table, n) = recount ? (PostgresAnalyticsRollup.counted, "n") : ("analytics_daily", "conversations")
            return try Self.periodCounts(connection, table: table, count: n, period: "day", filter, groupBy: groupBy, recount: recount, hours: nil)
        }
    }

    public func hourlyCounts(_ filter: AnalyticsFilter, hours: HourRange, groupBy: AnalyticsDimension?, recount: Bool) throws -> [AnalyticsDailyCounts] {
        try database.read { connection in
            let (table, n) = recount ? (PostgresAnalyticsRollup.countedHourly, "n") : ("analytics_hourly", "conversations")
            return try Self.periodCounts(connection, table: table, count: n, period: "hour", filter, groupBy: groupBy, recount: recount, hours: hours)
        }
    }

    public func dailyAndHourlyCounts(_ filter: AnalyticsFilter, hours: HourRange, groupBy: AnalyticsDimension?) throws
        -> (days: [AnalyticsDailyCounts], hours: [AnalyticsDailyCounts]) {
        try database.read { connection in
            // One snapshot for both statements.
            try connection.transaction { connection in
                try connection.executeScript("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                let days = try Self.periodCounts(
                    connection, table: "analytics_daily", count: "conversations", period: "day", filter, groupBy: groupBy, recount: false, hours: nil)
                let hourly = try Self.periodCounts(
                    connection, table: "analytics_hourly", count: "conversations", period: "hour", filter, groupBy: groupBy, recount: false, hours: Self.seeking(hours, days, groupBy))
                return (days, hourly)
            }
        }
    }

    /// Grouped by an assistant or number, the hours of only those the days have (every hourly row's value has
    /// a daily row in the same snapshot).
    static func seeking(_ hours: HourRange, _ days: [AnalyticsDailyCounts], _ groupBy: AnalyticsDimension?) -> HourRange {
        guard groupBy == .assistantId || groupBy == .phoneNumberId else { return hours }
        var out = hours
        out.groupKeys = Array(Set(days.map { $0.key ?? PostgresAnalyticsRollup.none })).sorted()
        return out
    }

    /// The sums per `period` (day or hour) and value of `groupBy`, from an aggregate table or a recount's rows.
    static func periodCounts(
        _ connection: PostgresConnection, table: String, count n: String, period: String, _ filter: AnalyticsFilter,
        groupBy: AnalyticsDimension?, recount: Bool, hours: HourRange?
    ) throws -> [AnalyticsDailyCounts] {
        var c = conditions(filter, aggregate: !recount, grouped: groupBy, hours: hours)
        let key: String
        switch groupBy {
        case nil: key = "NULL::text"
        // The aggregates mark "none" with '-'; the recount's rows already read it back as NULL.
        case .assistantId?, .phoneNumberId?:
            key = recount ? groupBy!.column : "NULLIF(\(groupBy!.column), '\(PostgresAnalyticsRollup.none)')"
        case let dimension?: key = dimension.column
        }
        let sums = [Resolution.resolved, .failed, .escalated].map { outcome in
            "COALESCE(SUM(\(n)) FILTER (WHERE resolution = \(c.bind("?", [outcome.rawValue]))), 0)::bigint AS \(outcome.rawValue)"
        }
        let rows = try connection.query(
            """
            SELECT \(period) AS period, \(key) AS key, SUM(\(n))::bigint AS conversations, SUM(duration_seconds)::bigint AS duration,
                   \(sums.joined(separator: ", "))
            FROM \(table) WHERE \(c.whereClause)
            GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST
            """,
            c.parameters)
        return try rows.rows.map { row in
            AnalyticsDailyCounts(
                day: try row["period"], key: try row["key"], conversations: try row["conversations"], resolved: try row["resolved"],
                failed: try row["failed"], escalated: try row["escalated"], durationSeconds: try row["duration"])
        }
    }
}
