import EdmoCore
import EdmoStore
import GRDB

/// A row of `conversations`. Written by the chat store (chats) and the analytics store (provider calls),
/// read by both.
struct ConversationRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "conversations"

    var id: String
    var orgId: String
    var assistantId: String?
    var phoneNumberId: String?
    var channel: ConversationChannel
    var type: String
    var status: ConversationStatus
    var endedReason: String?
    var startedAt: String
    var endedAt: String?
    var lastActivityAt: String
    var durationSeconds: Int
    var sentiment: Sentiment?
    var resolution: Resolution?
    var summary: String?
    var successEvaluation: String?
    var transcript: String?
    var recordingUrl: String?
    var stereoRecordingUrl: String?
    var customerNumber: String?
    var cost: Double?
    var providerChatId: String?
    var unanswered: Int
    var createdAt: String
    var updatedAt: String
    var reportedAt: String?
    /// Stored so that the analytics filters and rebuild can use it; always `record.day`.
    var day: String?

    enum CodingKeys: String, CodingKey {
        case id, orgId = "org_id", assistantId = "assistant_id", phoneNumberId = "phone_number_id", channel, type, status
        case endedReason = "ended_reason", startedAt = "started_at", endedAt = "ended_at"
        case lastActivityAt = "last_activity_at", durationSeconds = "duration_seconds", sentiment, resolution, summary
        case successEvaluation = "success_evaluation", transcript, recordingUrl = "recording_url"
        case stereoRecordingUrl = "stereo_recording_url", customerNumber = "customer_number", cost
        case providerChatId = "provider_chat_id", unanswered, createdAt = "created_at", updatedAt = "updated_at"
        case reportedAt = "reported_at", day
    }

    init(_ c: ConversationRecord) {
        id = c.id; orgId = c.orgId; assistantId = c.assistantId; phoneNumberId = c.phoneNumberId
        channel = c.channel; type = c.type; status = c.status; endedReason = c.endedReason
        startedAt = c.startedAt; endedAt = c.endedAt; lastActivityAt = c.lastActivityAt; durationSeconds = c.durationSeconds
        sentiment = c.sentiment; resolution = c.resolution; summary = c.summary; successEvaluation = c.successEvaluation
        transcript = c.transcript; recordingUrl = c.recordingUrl; stereoRecordingUrl = c.stereoRecordingUrl
        customerNumber = c.customerNumber; cost = c.cost; providerChatId = c.providerChatId; unanswered = c.unanswered
        createdAt = c.createdAt; updatedAt = c.updatedAt; reportedAt = c.reportedAt; day = c.day
    }

    var record: ConversationRecord {
        ConversationRecord(
            id: id, orgId: orgId, assistantId: assistantId, phoneNumberId: phoneNumberId, channel: channel, type: type,
            status: status, endedReason: endedReason, startedAt: startedAt, endedAt: endedAt,
            lastActivityAt: lastActivityAt, durationSeconds: durationSeconds, sentiment: sentiment, resolution: resolution,
            summary: summary, successEvaluation: successEvaluation, transcript: transcript, recordingUrl: recordingUrl,
            stereoRecordingUrl: stereoRecordingUrl, customerNumber: customerNumber, cost: cost,
            providerChatId: providerChatId, unanswered: unanswered, createdAt: createdAt, updatedAt: updatedAt,
            reportedAt: reportedAt)
    }
}

/// A row of `conversation_messages`; `seq` orders the messages of one conversation.
struct ConversationMessageRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "conversation_messages"

    var conversationId: String
    var seq: Int
    var role: String
    var content: String
    var createdAt: String

    enum CodingKeys: String, CodingKey {
        case conversationId = "conversation_id", seq, role, content, createdAt = "created_at"
    }

    var message: ConversationMessage {
        ConversationMessage(role: ConversationMessage.Role(rawValue: role) ?? .error, content: content, createdAt: createdAt)
    }
}

/// What both stores do with conversations, inside the caller's transaction.
enum ConversationRows {
    static func find(_ db: GRDB.Database, id: String) throws -> ConversationRecord? {
        // Cached: every webhook report looks its call up first.
        try ConversationRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM conversations WHERE id = ?"), arguments: [id])?.record
    }

    /// Writes the conversation and counts it in the aggregates.
    /// One cached INSERT with its columns listed, here and for the messages: GRDB's record insert encodes a
    /// row through Codable, which was an eighth of a webhook report's CPU.
    static func insert(_ db: GRDB.Database, _ c: ConversationRecord) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO conversations (id, org_id, assistant_id, phone_number_id, channel, type, status, ended_reason,
                    started_at, ended_at, last_activity_at, duration_seconds, sentiment, resolution, summary,
                    success_evaluation, transcript, recording_url, stereo_recording_url, customer_number, cost,
                    provider_chat_id, unanswered, created_at, updated_at, reported_at, day)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            c.id, c.orgId, c.assistantId, c.phoneNumberId, c.channel.rawValue, c.type, c.status.rawValue, c.endedReason,
            c.startedAt, c.endedAt, c.lastActivityAt, c.durationSeconds, c.sentiment?.rawValue, c.resolution?.rawValue, c.summary,
            c.successEvaluation, c.transcript, c.recordingUrl, c.stereoRecordingUrl, c.customerNumber, c.cost,
            c.providerChatId, c.unanswered, c.createdAt, c.updatedAt, c.reportedAt, c.day,
        ])
        try AnalyticsRollup.apply(db, c, sign: 1)
    }

    static func messages(_ db: GRDB.Database, conversationId: String) throws -> [ConversationMessage] {
        try ConversationMessageRow.fetchAll(
            db, sql: "SELECT * FROM conversation_messages WHERE conversation_id = ? ORDER BY seq", arguments: [conversationId]
        ).map(\.message)
    }

    static func append(_ db: GRDB.Database, conversationId: String, _ messages: [ConversationMessage]) throws {
        var seq = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM conversation_messages WHERE conversation_id = ?"),
            arguments: [conversationId]) ?? 0
        let insert = try db.cachedStatement(
            sql: "INSERT INTO conversation_messages (conversation_id, seq, role, content, created_at) VALUES (?, ?, ?, ?, ?)")
        for message in messages {
            seq += 1
            try insert.execute(arguments: [conversationId, seq, message.role.rawValue, message.content, message.createdAt])
        }
    }
}

/// Keeps `analytics_daily` and `analytics_hourly` equal to a count of the analysed conversations; called
/// inside the transaction that writes the conversation.
enum AnalyticsRollup {
    /// Marks "no assistant / no number" so that it differs from '' ("any").
    static let none = "-"

    static func apply(_ db: GRDB.Database, _ c: ConversationRecord, sign: Int) throws {
        guard c.isCounted, let sentiment = c.sentiment, let resolution = c.resolution else { return }
        let assistant = c.assistantId ?? none, number = c.phoneNumberId ?? none
        let groupings = [(assistant, number), (assistant, ""), ("", number), ("", "")]
        for (table, period, value) in [("analytics_daily", "day", c.day), ("analytics_hourly", "hour", c.hour)] {
            // One cached statement per table, its four groupings as four rows: GRDB's cost per statement
            // was most of a webhook report's time on the writer.
            var arguments: [(any DatabaseValueConvertible)?] = []
            for (a, p) in groupings {
                arguments += [a, p, value, c.orgId, c.channel.rawValue, sentiment.rawValue, resolution.rawValue, sign, sign * c.durationSeconds]
            }
            try db.execute(
                cached: """
                    INSERT INTO \(table) (assistant_id, phone_number_id, \(period), org_id, channel, sentiment, resolution,
                                          conversations, duration_seconds)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations,
                                              duration_seconds = duration_seconds + excluded.duration_seconds
                    """,
                arguments: StatementArguments(arguments))
        }
        if sign < 0 {
            for (a, p) in groupings {
                for (sql, value) in [(deleteEmptyDaily, c.day), (deleteEmptyHourly, c.hour)] {
                    try db.cachedStatement(sql: sql)
                        .execute(arguments: [a, p, value, c.orgId, c.channel.rawValue, sentiment.rawValue, resolution.rawValue])
                }
            }
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
