import EdmoCore
import EdmoStore
import Foundation

extension PostgresChatStore {
    public func conversation(orgId: String, id: String) throws -> ConversationRecord? {
        try database.read { connection in
            try connection.query("SELECT \(ChatColumns.conversation) FROM conversations WHERE org_id = $1 AND id = $2", [orgId, id])
                .first.map(ConversationRecord.init(postgres:))
        }
    }

    public func messages(conversationId: String) throws -> [ConversationMessage] {
        try database.read { connection in try PostgresConversations.messages(connection, conversationId: conversationId) }
    }

    public func startConversation(_ c: ConversationRecord, messages: [ConversationMessage]) throws {
        try database.write { connection in
            try PostgresConversations.insert(connection, c)
            try PostgresConversations.append(connection, conversationId: c.id, messages)
            try PostgresAnalyticsRollup.apply(connection, [(c, 1)])
        }
    }

    /// The conversation is locked first: two turns of one chat on two hosts append one after the other
    /// (each numbering its messages after the other's), and an ended chat leaves the analytics once.
    public func appendMessages(
        conversationId: String, _ messages: [ConversationMessage], now: Date, cost: Double?, unanswered: Int,
        providerChatId: String?
    ) throws {
        try database.write { connection in
            guard let current = try PostgresConversations.find(connection, id: conversationId, locking: true) else {
                // Gone (erased, or removed by retention, while this turn ran); nothing to append changes nothing.
                if messages.isEmpty { return }
                throw StoreError.notFound("Chat")
            }
            try connection.execute(
                """
                UPDATE conversations SET last_activity_at = $1, updated_at = $1, status = $2,
                    ended_at = NULL, ended_reason = NULL, sentiment = NULL, resolution = NULL,
                    cost = CASE WHEN $3::double precision IS NULL THEN cost ELSE COALESCE(cost, 0) + $3 END,
                    unanswered = unanswered + $4, provider_chat_id = COALESCE($5, provider_chat_id)
                WHERE id = $6
                """,
                [now, ConversationStatus.inProgress.rawValue, cost, unanswered, providerChatId, conversationId])
            try PostgresConversations.append(connection, conversationId: conversationId, messages)
            // A new turn reopens an ended chat: it leaves the analytics until it ends again.
            try PostgresAnalyticsRollup.apply(connection, [(current, -1)])
        }
    }

    public func endConversation(
        id: String, outcome: ConversationOutcome, now: Date, event: (ConversationRecord) throws -> OutboxEvent?
    ) throws {
        try database.write { connection in
            guard let open = try PostgresConversations.find(connection, id: id, locking: true) else { throw StoreError.notFound("Conversation") }
            let started = Timestamp.parse(open.startedAt) ?? now
            let last = Timestamp.parse(open.lastActivityAt) ?? now
            var ended = open
            ended.status = .ended
            ended.endedAt = open.lastActivityAt
            ended.endedReason = outcome.endedReason
            ended.durationSeconds = max(0, Int(last.timeIntervalSince(started).rounded()))
            ended.summary = outcome.summary
            ended.successEvaluation = outcome.successEvaluation
            ended.sentiment = outcome.sentiment
            ended.resolution = outcome.resolution
            ended.transcript = try PostgresConversations.messages(connection, conversationId: id).filter { $0.role != .error }
                .map { ($0.role == .user ? "User: " : "AI: ") + $0.content }.joined(separator: "\n")
            ended.updatedAt = Timestamp.format(now)
            try PostgresConversations.replace(connection, ended)
            try PostgresAnalyticsRollup.apply(connection, [(open, -1), (ended, 1)])
            try PostgresOutbox.write(connection, try event(ended))
        }
    }

    /// Oldest activity first; ties (same millisecond) by id, where SQLite's index gives insertion order.
    public func idleConversations(before cutoff: Date, limit: Int) throws -> [ConversationRecord] {
        try database.read { connection in
            try connection.query(
                """
                SELECT \(ChatColumns.conversation) FROM conversations WHERE status = $1 AND last_activity_at < $2
                ORDER BY last_activity_at, id LIMIT $3
                """,
                [ConversationStatus.inProgress.rawValue, cutoff, limit < 0 ? nil : limit]
            ).rows.map(ConversationRecord.init(postgres:))
        }
    }
}
