import EdmoCore
import EdmoStore
import Foundation
import GRDB

extension SQLiteAnalyticsStore {
    public func dailyCounts(_ filter: AnalyticsFilter, groupBy: AnalyticsDimension?, recount: Bool) throws -> [AnalyticsDailyCounts] {
        try database.read { db in
            let (whereClause, args) = Self.conditions(filter, aggregate: !recount, grouped: groupBy)
            let (table, n) = recount ? (AnalyticsRollup.counted, "n") : ("analytics_daily", "conversations")
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
                    SELECT day, \(key) AS key, SUM(\(n)) AS conversations, SUM(duration_seconds) AS duration,
                           SUM(CASE WHEN resolution = ? THEN \(n) ELSE 0 END) AS resolved,
                           SUM(CASE WHEN resolution = ? THEN \(n) ELSE 0 END) AS failed,
                           SUM(CASE WHEN resolution = ? THEN \(n) ELSE 0 END) AS escalated
                    FROM \(table) WHERE \(whereClause)
                    GROUP BY day, 2 ORDER BY day, 2
                    """,
                arguments: StatementArguments(outcomes) + args)
            return rows.map { row in
                AnalyticsDailyCounts(
                    day: row["day"], key: row["key"], conversations: row["conversations"], resolved: row["resolved"],
                    failed: row["failed"], escalated: row["escalated"], durationSeconds: row["duration"])
            }
        }
    }
}
