import EdmoCore
import EdmoStore
import Foundation
import GRDB

extension SQLiteAnalyticsStore {
    public func dailyCounts(_ filter: AnalyticsFilter, groupBy: AnalyticsDimension?, recount: Bool) throws -> [AnalyticsDailyCounts] {
        try database.read { db in
            let (table, n) = recount ? (AnalyticsRollup.counted, "n") : ("analytics_daily", "conversations")
            return try Self.periodCounts(db, table: table, count: n, period: "day", filter, groupBy: groupBy, recount: recount, hours: nil)
        }
    }

    public func hourlyCounts(_ filter: AnalyticsFilter, hours: HourRange, groupBy: AnalyticsDimension?, recount: Bool) throws -> [AnalyticsDailyCounts] {
        try database.read { db in
            let (table, n) = recount ? (AnalyticsRollup.countedHourly, "n") : ("analytics_hourly", "conversations")
            return try Self.periodCounts(db, table: table, count: n, period: "hour", filter, groupBy: groupBy, recount: recount, hours: hours)
        }
    }

    public func dailyAndHourlyCounts(_ filter: AnalyticsFilter, hours: HourRange, groupBy: AnalyticsDimension?) throws
        -> (days: [AnalyticsDailyCounts], hours: [AnalyticsDailyCounts]) {
        try database.read { db in
            var out: (days: [AnalyticsDailyCounts], hours: [AnalyticsDailyCounts]) = ([], [])
            // One read transaction: one snapshot for both statements (WAL).
            try db.inTransaction(.deferred) {
                out.days = try Self.periodCounts(
                    db, table: "analytics_daily", count: "conversations", period: "day", filter, groupBy: groupBy, recount: false, hours: nil)
                out.hours = try Self.periodCounts(
                    db, table: "analytics_hourly", count: "conversations", period: "hour", filter, groupBy: groupBy, recount: false,
                    hours: Self.seeking(hours, out.days, groupBy))
                return .commit
            }
            return out
        }
    }

    /// Grouped by an assistant or number, the hours of only those the days have (every hourly row's value has
    /// a daily row in the same snapshot).
    static func seeking(_ hours: HourRange, _ days: [AnalyticsDailyCounts], _ groupBy: AnalyticsDimension?) -> HourRange {
        guard groupBy == .assistantId || groupBy == .phoneNumberId else { return hours }
        var out = hours
        out.groupKeys = Array(Set(days.map { $0.key ?? AnalyticsRollup.none })).sorted()
        return out
    }

    /// The sums per `period` (day or hour) and value of `groupBy`, from an aggregate table or a recount's rows.
    static func periodCounts(
        _ db: GRDB.Database, table: String, count n: String, period: String, _ filter: AnalyticsFilter,
        groupBy: AnalyticsDimension?, recount: Bool, hours: HourRange?
    ) throws -> [AnalyticsDailyCounts] {
        let (whereClause, args) = conditions(filter, aggregate: !recount, grouped: groupBy, hours: hours)
        let key: String
        switch groupBy {
        case nil: key = "NULL"
        // The aggregates mark "none" with '-'; the recount's rows already read it back as NULL.
        case .assistantId?, .phoneNumberId?: key = recount ? groupBy!.column : "NULLIF(\(groupBy!.column), '\(AnalyticsRollup.none)')"
        case let dimension?: key = dimension.column
        }
        let outcomes = [Resolution.resolved, .failed, .escalated].map(\.rawValue)
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT \(period) AS period, \(key) AS key, SUM(\(n)) AS conversations, SUM(duration_seconds) AS duration,
                       SUM(CASE WHEN resolution = ? THEN \(n) ELSE 0 END) AS resolved,
                       SUM(CASE WHEN resolution = ? THEN \(n) ELSE 0 END) AS failed,
                       SUM(CASE WHEN resolution = ? THEN \(n) ELSE 0 END) AS escalated
                FROM \(table) WHERE \(whereClause)
                GROUP BY 1, 2 ORDER BY 1, 2
                """,
            arguments: StatementArguments(outcomes) + args)
        return rows.map { row in
            AnalyticsDailyCounts(
                day: row["period"], key: row["key"], conversations: row["conversations"], resolved: row["resolved"],
                failed: row["failed"], escalated: row["escalated"], durationSeconds: row["duration"])
        }
    }
}
