import EdmoCore
import EdmoStore

/// What the chat store (chats) and the analytics store (provider calls) do with conversations, inside the
/// caller's transaction: `ConversationRows` on SQLite. Aggregates are the caller's to update, last (see
/// `PostgresAnalyticsRollup`).
enum PostgresConversations {
    /// With `locking`, the row stays locked until the transaction ends: SQLite's read-then-write is safe
    /// because it has one writer; here another host changing the same conversation waits, and then reads
    /// the row as this transaction left it.
    static func find(_ connection: PostgresConnection, id: String, locking: Bool = false) throws -> ConversationRecord? {
        try connection.query(
            "SELECT \(ChatColumns.conversation) FROM conversations WHERE id = $1" + (locking ? " FOR UPDATE" : ""), [id]
        ).first.map(ConversationRecord.init(postgres:))
    }

    private static let placeholders = (1...ChatColumns.conversation.split(separator: ",").count).map { "$\($0)" }
        .joined(separator: ", ")

    /// Inserts the conversation. With `ifAbsent`, a row with its id already there (committed by another
    /// host, which this insert waits for) makes it insert nothing and return false.
    @discardableResult
    static func insert(_ connection: PostgresConnection, _ record: ConversationRecord, ifAbsent: Bool = false) throws -> Bool {
        try connection.execute(
            "INSERT INTO conversations (\(ChatColumns.conversation)) VALUES (\(placeholders))"
                + (ifAbsent ? " ON CONFLICT (id) DO NOTHING" : ""),
            record.postgresValues) == 1
    }

    /// Writes every column of a stored conversation, as SQLite's record update does.
    static func replace(_ connection: PostgresConnection, _ record: ConversationRecord) throws {
        try connection.execute(
            "UPDATE conversations SET (\(ChatColumns.conversation)) = (\(placeholders)) WHERE id = $1", record.postgresValues)
    }

    static func messages(_ connection: PostgresConnection, conversationId: String) throws -> [ConversationMessage] {
        try connection.query(
            "SELECT role, content, created_at FROM conversation_messages WHERE conversation_id = $1 ORDER BY seq", [conversationId]
        ).rows.map(ConversationMessage.init(postgres:))
    }

    /// Numbers the messages on from the conversation's last `seq`. One statement whatever their number:
    /// a call report may carry a long transcript.
    static func append(_ connection: PostgresConnection, conversationId: String, _ messages: [ConversationMessage]) throws {
        guard !messages.isEmpty else { return }
        try connection.execute(
            """
            INSERT INTO conversation_messages (conversation_id, seq, role, content, created_at)
            SELECT $1, (SELECT COALESCE(max(seq), 0) FROM conversation_messages WHERE conversation_id = $1) + m.n,
                   m.role, m.content, m.created_at
            FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS m(role, content, created_at, n)
            """,
            [conversationId, PostgresTextArray(messages.map(\.role.rawValue)), PostgresTextArray(messages.map(\.content)),
             PostgresTextArray(messages.map(\.createdAt))])
    }
}

/// Keeps `analytics_daily` and `analytics_hourly` equal to a count of the analysed conversations
/// (`AnalyticsRollup` on SQLite), in the transaction that writes them.
///
/// Every conversation counts in four rows of the same day (and four of the same hour), and the row for "any
/// assistant, any number" is shared by every report of that day: its lock is held from its update to the
/// commit. So the rows are written in one global order, the hourly ones first and the shared ones last (two
/// transactions never wait for each other's rows in opposite orders, so never deadlock, and the hottest lock
/// is held the shortest), a replaced conversation's -1 and +1 to the same row are summed into one update, and
/// each table's rows are one statement (two round trips for a whole group commit, not eight per report).
enum PostgresAnalyticsRollup {
    /// Marks "no assistant / no number" so that it differs from '' ("any").
    static let none = "-"

    struct Key: Hashable {
        /// `day` holds the UTC hour (`YYYY-MM-DDTHH`) in `analytics_hourly`.
        var hourly: Bool
        var assistant, phoneNumber, day, org, channel, sentiment, resolution: String

        /// The write order: the hourly table first, by period and values, then the specific rows before the
        /// shared ones ('' sorts last in descending order).
        static func precedes(_ a: Key, _ b: Key) -> Bool {
            if a.hourly != b.hourly { return a.hourly }
            let (x, y) = ([a.day, a.org, a.channel, a.sentiment, a.resolution], [b.day, b.org, b.channel, b.sentiment, b.resolution])
            if x != y { return x.lexicographicallyPrecedes(y) }
            return [b.assistant, b.phoneNumber].lexicographicallyPrecedes([a.assistant, a.phoneNumber])
        }
    }

    /// Counts `changes` (a conversation, +1 or -1) in the aggregates; conversations not counted (not ended
    /// or not analysed) change nothing.
    static func apply(_ connection: PostgresConnection, _ changes: [(record: ConversationRecord, sign: Int)]) throws {
        var deltas: [Key: (conversations: Int, duration: Int)] = [:]
        for (c, sign) in changes {
            guard c.isCounted, let sentiment = c.sentiment, let resolution = c.resolution else { continue }
            let assistant = c.assistantId ?? none, number = c.phoneNumberId ?? none
            for (hourly, period) in [(false, c.day), (true, c.hour)] {
                for (a, p) in [(assistant, number), (assistant, ""), ("", number), ("", "")] {
                    let key = Key(
                        hourly: hourly, assistant: a, phoneNumber: p, day: period, org: c.orgId, channel: c.channel.rawValue,
                        sentiment: sentiment.rawValue, resolution: resolution.rawValue)
                    deltas[key, default: (0, 0)].conversations += sign
                    deltas[key, default: (0, 0)].duration += sign * c.durationSeconds
                }
            }
        }
        let sorted = deltas.keys.sorted(by: Key.precedes).filter { deltas[$0]! != (0, 0) }
        // One statement per table, whatever the number of rows: its rows are written in the order given.
        for hourly in [true, false] {
            let keys = sorted.filter { $0.hourly == hourly }
            guard !keys.isEmpty else { continue }
            let (table, period) = hourly ? ("analytics_hourly", "hour") : ("analytics_daily", "day")
            let columns: [(Key) -> String] = [\.assistant, \.phoneNumber, \.day, \.org, \.channel, \.sentiment, \.resolution]
            let arrays: [(any PostgresEncodable)?] = columns.map { column in PostgresTextArray(keys.map(column)) }
            let numbers: [(any PostgresEncodable)?] = [
                PostgresTextArray(keys.map { String(deltas[$0]!.conversations) }), PostgresTextArray(keys.map { String(deltas[$0]!.duration) }),
            ]
            let pk = "assistant_id, phone_number_id, \(period), org_id, channel, sentiment, resolution"
            let emptied = try connection.query(
                """
                INSERT INTO \(table) (\(pk), conversations, duration_seconds)
                SELECT a, p, period, org, channel, sentiment, resolution, n, duration
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[])
                     WITH ORDINALITY AS d(a, p, period, org, channel, sentiment, resolution, n, duration, i)
                ORDER BY i
                ON CONFLICT (\(pk)) DO UPDATE SET
                    conversations = \(table).conversations + excluded.conversations,
                    duration_seconds = \(table).duration_seconds + excluded.duration_seconds
                RETURNING (conversations = 0) AS emptied
                """,
                arrays + numbers
            ).rows.contains { try $0["emptied"] as Bool }
            // A row that counts nothing is removed, as SQLite removes the empty rows.
            if emptied {
                try connection.execute(
                    """
                    DELETE FROM \(table) WHERE (\(pk)) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                                                               $6::text[], $7::text[]))
                        AND conversations = 0
                    """,
                    arrays)
            }
        }
    }

    /// What the aggregates count, as rows of one conversation each (`n` = 1) or of many: the conversations,
    /// and the removed ones' counts (`analytics_retired`, whose '-' is read back as no assistant or number).
    static let counted = """
        (SELECT org_id, assistant_id, phone_number_id, day, channel, sentiment, resolution, status, 1::bigint AS n, duration_seconds
         FROM conversations
         UNION ALL
         SELECT org_id, NULLIF(assistant_id, '\(none)'), NULLIF(phone_number_id, '\(none)'), day, channel, sentiment, resolution,
                '\(ConversationStatus.ended.rawValue)', conversations, duration_seconds
         FROM analytics_retired) AS counted
        """

    /// `counted` per UTC hour: the conversations by the hour of their `created_at`, and `analytics_retired_hourly`.
    static let countedHourly = """
        (SELECT org_id, assistant_id, phone_number_id, substr(created_at, 1, 13) AS hour, channel, sentiment, resolution, status,
                1::bigint AS n, duration_seconds
         FROM conversations
         UNION ALL
         SELECT org_id, NULLIF(assistant_id, '\(none)'), NULLIF(phone_number_id, '\(none)'), hour, channel, sentiment, resolution,
                '\(ConversationStatus.ended.rawValue)', conversations, duration_seconds
         FROM analytics_retired_hourly) AS counted
        """

    /// Recomputes every aggregate from the conversations and the removed ones' counts (`edmo analytics
    /// rebuild`). The table locks make writers wait until the new rows are committed: a conversation written
    /// meanwhile either committed before (and is counted here) or adds its own delta after; a removal (which
    /// writes the retired counts before it deletes) either committed before or moves its conversations after;
    /// readers go on reading the old rows.
    static func rebuild(_ connection: PostgresConnection) throws {
        // The order every writer takes them in: the hourly table first (`Key.precedes`), as the removals.
        for table in ["analytics_hourly", "analytics_daily", "analytics_retired_hourly", "analytics_retired"] {
            try connection.execute("LOCK TABLE \(table) IN EXCLUSIVE MODE")
        }
        for (table, period, source) in [("analytics_daily", "day", counted), ("analytics_hourly", "hour", countedHourly)] {
            try connection.execute("DELETE FROM \(table)")
            // The four groupings of `apply`, each in one statement.
            for (a, p) in [("COALESCE(assistant_id, '\(none)')", "COALESCE(phone_number_id, '\(none)')"),
                           ("COALESCE(assistant_id, '\(none)')", "''"), ("''", "COALESCE(phone_number_id, '\(none)')"), ("''", "''")] {
                try connection.execute(
                    """
                    INSERT INTO \(table) (assistant_id, phone_number_id, \(period), org_id, channel, sentiment, resolution,
                                          conversations, duration_seconds)
                    SELECT \(a), \(p), \(period), org_id, channel, sentiment, resolution, sum(n), sum(duration_seconds)
                    FROM \(source)
                    WHERE status = $1 AND sentiment IS NOT NULL AND resolution IS NOT NULL
                    GROUP BY 1, 2, \(period), org_id, channel, sentiment, resolution
                    """,
                    [ConversationStatus.ended.rawValue])
            }
        }
    }
}
