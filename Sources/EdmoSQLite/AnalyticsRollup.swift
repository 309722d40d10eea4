import EdmoCore
import EdmoStore
import GRDB

/// Keeps `analytics_daily` and `analytics_hourly` equal to a count of the analysed conversations, in the
/// transaction that writes them.
///
/// In a group commit the changes are summed per aggregate row over the whole batch and written once, after
/// its jobs (`SQLiteGroupCommit.run`): the reports of a batch mostly share their rows (all of a day share
/// "any assistant, any number"), and each upsert is a descent into tables that grow with the assistants,
/// numbers and hours (measured: 1.66 ms a commit with empty aggregates, 1.9-2.05 ms with a million
/// conversations' worth). Outside a batch (`writeAlone`) they are written at once.
enum AnalyticsRollup {
    /// Marks "no assistant / no number" so that it differs from '' ("any").
    static let none = "-"

    /// An aggregate row's key: `period` is the day, or in `analytics_hourly` the UTC hour (`YYYY-MM-DDTHH`).
    struct Key: Hashable {
        var hourly: Bool
        var assistant, phoneNumber, period, org, channel, sentiment, resolution: String

        var values: [String] { [assistant, phoneNumber, period, org, channel, sentiment, resolution] }
    }

    /// Summed changes to aggregate rows. A job of a batch has its own, folded into the batch's once its
    /// savepoint is kept (a job rolled back takes its changes with it). Only the thread running the batch
    /// touches them.
    final class Changes: @unchecked Sendable {
        private(set) var rows: [Key: (conversations: Int, duration: Int)] = [:]

        /// Counts `c` (+1) or takes it back (-1) in its four groupings of its day and of its hour; a
        /// conversation not counted (not ended, or not analysed) changes nothing.
        func add(_ c: ConversationRecord, sign: Int) {
            guard c.isCounted, let sentiment = c.sentiment, let resolution = c.resolution else { return }
            let assistant = c.assistantId ?? none, number = c.phoneNumberId ?? none
            for (hourly, period) in [(false, c.day), (true, c.hour)] {
                for (a, p) in [(assistant, number), (assistant, ""), ("", number), ("", "")] {
                    let key = Key(
                        hourly: hourly, assistant: a, phoneNumber: p, period: period, org: c.orgId, channel: c.channel.rawValue,
                        sentiment: sentiment.rawValue, resolution: resolution.rawValue)
                    rows[key, default: (0, 0)].conversations += sign
                    rows[key, default: (0, 0)].duration += sign * c.durationSeconds
                }
            }
        }

        func add(_ other: Changes) {
            for (key, change) in other.rows {
                rows[key, default: (0, 0)].conversations += change.conversations
                rows[key, default: (0, 0)].duration += change.duration
            }
        }

        /// Upserts the changed rows, up to four a statement (GRDB's cost per statement was most of a report's
        /// time on the writer), then removes the rows a negative change may have left at zero, by their keys.
        func write(_ db: GRDB.Database) throws {
            let changed = rows.filter { $0.value != (0, 0) }
            for hourly in [false, true] {
                let keys = changed.keys.filter { $0.hourly == hourly }
                for start in stride(from: 0, to: keys.count, by: 4) {
                    let chunk = keys[start..<min(start + 4, keys.count)]
                    var arguments: [DatabaseValue] = []
                    for key in chunk {
                        let (conversations, duration) = changed[key]!
                        arguments += key.values.map(\.databaseValue) + [conversations.databaseValue, duration.databaseValue]
                    }
                    try db.cachedStatement(sql: upsert[hourly ? 1 : 0][chunk.count - 1]).execute(arguments: StatementArguments(arguments))
                }
                for key in keys where changed[key]!.conversations < 0 {
                    try db.cachedStatement(sql: hourly ? deleteEmptyHourly : deleteEmptyDaily).execute(arguments: StatementArguments(key.values))
                }
            }
        }
    }

    /// The changes of the job running on this thread, while it runs in a group commit.
    @TaskLocal static var pending: Changes?

    static func apply(_ db: GRDB.Database, _ c: ConversationRecord, sign: Int) throws {
        if let pending {
            pending.add(c, sign: sign)
            return
        }
        let changes = Changes()
        changes.add(c, sign: sign)
        try changes.write(db)
    }

    /// The upserts of one to four rows, daily (`upsert[0]`) and hourly (`upsert[1]`).
    static let upsert: [[String]] = [("analytics_daily", "day"), ("analytics_hourly", "hour")].map { table, period in
        (1...4).map { n in
            """
            INSERT INTO \(table) (assistant_id, phone_number_id, \(period), org_id, channel, sentiment, resolution,
                                  conversations, duration_seconds)
            VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: n).joined(separator: ", "))
            ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations,
                                      duration_seconds = duration_seconds + excluded.duration_seconds
            """
        }
    }

    /// A grouping's row left at zero by a replaced report, by its key: both tables are too large to scan on every
    /// replaced report (the daily one has 95,800 rows at a million conversations: 5 ms a report on the writer).
    static let deleteEmptyDaily = """
        DELETE FROM analytics_daily WHERE assistant_id = ? AND phone_number_id = ? AND day = ? AND org_id = ?
            AND channel = ? AND sentiment = ? AND resolution = ? AND conversations = 0
        """
    static let deleteEmptyHourly = """
        DELETE FROM analytics_hourly WHERE assistant_id = ? AND phone_number_id = ? AND hour = ? AND org_id = ?
            AND channel = ? AND sentiment = ? AND resolution = ? AND conversations = 0
        """

    /// What the aggregates count, as rows of one conversation each (`n` = 1) or of many: the conversations,
    /// and the removed ones' counts (`analytics_retired`, whose '-' is read back as no assistant or number).
    static let counted = """
        (SELECT org_id, assistant_id, phone_number_id, day, channel, sentiment, resolution, status, 1 AS n, duration_seconds
         FROM conversations
         UNION ALL
         SELECT org_id, NULLIF(assistant_id, '\(none)'), NULLIF(phone_number_id, '\(none)'), day, channel, sentiment, resolution,
                '\(ConversationStatus.ended.rawValue)', conversations, duration_seconds
         FROM analytics_retired) AS counted
        """

    /// `counted` per UTC hour: the conversations by the hour of their `created_at`, and `analytics_retired_hourly`.
    static let countedHourly = """
        (SELECT org_id, assistant_id, phone_number_id, substr(created_at, 1, 13) AS hour, channel, sentiment, resolution, status,
                1 AS n, duration_seconds
         FROM conversations
         UNION ALL
         SELECT org_id, NULLIF(assistant_id, '\(none)'), NULLIF(phone_number_id, '\(none)'), hour, channel, sentiment, resolution,
                '\(ConversationStatus.ended.rawValue)', conversations, duration_seconds
         FROM analytics_retired_hourly) AS counted
        """

    /// Recomputes every aggregate from the conversations and the removed ones' counts (`edmo analytics rebuild`).
    static func rebuild(_ db: GRDB.Database) throws {
        for (table, period, source) in [("analytics_daily", "day", counted), ("analytics_hourly", "hour", countedHourly)] {
            try db.execute(sql: "DELETE FROM \(table)")
            // The four groupings of `apply`, each in one statement.
            for (a, p) in [("COALESCE(assistant_id, '\(none)')", "COALESCE(phone_number_id, '\(none)')"),
                           ("COALESCE(assistant_id, '\(none)')", "''"), ("''", "COALESCE(phone_number_id, '\(none)')"), ("''", "''")] {
                try db.execute(
                    sql: """
                        INSERT INTO \(table) (assistant_id, phone_number_id, \(period), org_id, channel, sentiment, resolution,
                                              conversations, duration_seconds)
                        SELECT \(a), \(p), \(period), org_id, channel, sentiment, resolution, SUM(n), SUM(duration_seconds)
                        FROM \(source)
                        WHERE status = ? AND sentiment IS NOT NULL AND resolution IS NOT NULL
                        GROUP BY 1, 2, \(period), org_id, channel, sentiment, resolution
                        """,
                    arguments: [ConversationStatus.ended.rawValue])
            }
        }
    }
}
