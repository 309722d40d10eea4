import EdmoCore
import EdmoStore
import Foundation

extension PostgresAnalyticsStore {
    public func dailyCounts(_ filter: AnalyticsFilter, groupBy: AnalyticsDimension?, recount: Bool) throws -> [AnalyticsDailyCounts] {
        try database.read { connection in
            var c = Self.conditions(filter, aggregate: !recount, grouped: groupBy)
            let (table, n) = recount ? (PostgresAnalyticsRollup.counted, "n") : ("analytics_daily", "conversations")
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
                SELECT day, \(key) AS key, SUM(\(n))::bigint AS conversations, SUM(duration_seconds)::bigint AS duration,
                       \(sums.joined(separator: ", "))
                FROM \(table) WHERE \(c.whereClause)
                GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST
                """,
                c.parameters)
            return try rows.rows.map { row in
                AnalyticsDailyCounts(
                    day: try row["day"], key: try row["key"], conversations: try row["conversations"], resolved: try row["resolved"],
                    failed: try row["failed"], escalated: try row["escalated"], durationSeconds: try row["duration"])
            }
        }
    }
}
