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
