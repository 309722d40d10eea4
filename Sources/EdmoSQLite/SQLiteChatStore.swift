import EdmoStore
import EdmoCore
import Foundation
import GRDB

public struct SQLiteChatStore: ChatStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) { self.database = database }

    // MARK: knowledge

    static func entry(_ row: Row) -> KnowledgeEntry {
        let questions: String = row["questions"]
        return KnowledgeEntry(
            id: row["id"], orgId: row["org_id"], assistantId: row["assistant_id"], title: row["title"],
            content: row["content"], questions: questions.isEmpty ? [] : questions.components(separatedBy: "\n"),
            createdAt: row["created_at"], updatedAt: row["updated_at"], version: row["version"] ?? 1)
    }

    static let entryColumns = "id, org_id, assistant_id, title, content, questions, created_at, updated_at"
    static let entryColumnsRead = entryColumns + ", version"

    public func knowledgeEntries(orgId: String, assistantId: String, limit: Int, offset: Int) throws -> (items: [KnowledgeEntry], total: Int) {
        try database.read { db in
            let items = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.entryColumnsRead) FROM knowledge_entries WHERE org_id = ? AND assistant_id = ?
                    ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?
                    """,
                arguments: [orgId, assistantId, limit, offset]
            ).map(Self.entry)
            let total = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM knowledge_entries WHERE org_id = ? AND assistant_id = ?",
                arguments: [orgId, assistantId]) ?? 0
            return (items, total)
        }
    }

    public func knowledgeEntry(orgId: String, assistantId: String, id: String) throws -> KnowledgeEntry? {
        try database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.entryColumnsRead) FROM knowledge_entries WHERE org_id = ? AND assistant_id = ? AND id = ?",
                arguments: [orgId, assistantId, id]
            ).map(Self.entry)
        }
    }

    static func insert(_ db: GRDB.Database, _ e: KnowledgeEntry) throws {
        try db.execute(
            sql: """
                INSERT INTO knowledge_entries (\(entryColumns), search_title, search_content, search_questions)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                e.id, e.orgId, e.assistantId, e.title, e.content, e.questions.joined(separator: "\n"), e.createdAt, e.updatedAt,
                KnowledgeRules.searchText(e.title), KnowledgeRules.searchText(e.content),
                KnowledgeRules.searchText(e.questions.joined(separator: " ")),
            ])
    }

    public func insertKnowledge(_ entries: [KnowledgeEntry]) throws {
        try database.write { db in
            for entry in entries { try Self.insert(db, entry) }
        }
    }

    public func updateKnowledge(_ e: KnowledgeEntry) throws -> Int {
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE knowledge_entries SET title = ?, content = ?, questions = ?, updated_at = ?,
                        search_title = ?, search_content = ?, search_questions = ?, version = version + 1
                    WHERE id = ? AND org_id = ? AND assistant_id = ? AND version = ?
                    """,
                arguments: [
                    e.title, e.content, e.questions.joined(separator: "\n"), e.updatedAt,
                    KnowledgeRules.searchText(e.title), KnowledgeRules.searchText(e.content),
                    KnowledgeRules.searchText(e.questions.joined(separator: " ")), e.id, e.orgId, e.assistantId, e.version,
                ])
            try SQLiteResourceStore.requireChange(db, "knowledge_entries", "Knowledge entry", id: e.id)
            return e.version + 1
        }
    }

    public func deleteKnowledge(orgId: String, assistantId: String, id: String, version: Int?) throws {
        try database.write { db in
            try db.execute(
                sql: "DELETE FROM knowledge_entries WHERE id = ? AND org_id = ? AND assistant_id = ? AND (? IS NULL OR version = ?)",
                arguments: [id, orgId, assistantId, version, version])
            try SQLiteResourceStore.requireChange(db, "knowledge_entries", "Knowledge entry", id: id)
        }
    }

    public func searchKnowledge(assistantId: String, terms: [String], limit: Int) throws -> [KnowledgeEntry] {
        guard !terms.isEmpty else { return [] }
        return try database.read { db in
            let total = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT COUNT(*) FROM knowledge_entries WHERE assistant_id = ?"), arguments: [assistantId]) ?? 0
            let placeholders = Array(repeating: "?", count: terms.count).joined(separator: ", ")
            let counts = Dictionary(
                try Row.fetchAll(db, sql: "SELECT term, doc FROM knowledge_terms WHERE term IN (\(placeholders))", arguments: StatementArguments(terms))
                    .map { ($0["term"] as String, $0["doc"] as Int) },
                uniquingKeysWith: max)
            let known = terms.filter { counts[$0] != nil }
            guard !known.isEmpty else { return [] }
            // Scoring every entry that holds a very common term is the slow part of a search and tells
            // entries apart least: leave such terms out, unless nothing else is left.
            let common = max(50, total / 5)
            var chosen = known.filter { counts[$0]! <= common }
            if chosen.isEmpty { chosen = [known.min { counts[$0]! < counts[$1]! }!] }
            let match = chosen.map { "\"\($0)\"" }.joined(separator: " OR ")
            // Title and alternative questions weigh more than the body.
            return try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT e.id, e.org_id, e.assistant_id, e.title, e.content, e.questions, e.created_at, e.updated_at
                        FROM knowledge_fts f JOIN knowledge_entries e ON e.rowid = f.rowid
                        WHERE knowledge_fts MATCH ? AND e.assistant_id = ?
                        ORDER BY bm25(knowledge_fts, 4.0, 1.0, 3.0) LIMIT ?
                        """),
                arguments: [match, assistantId, limit]
            ).map(Self.entry)
        }
    }

    // MARK: gaps

    static func gap(_ row: Row) -> KnowledgeGap {
        KnowledgeGap(
            id: row["id"], orgId: row["org_id"], assistantId: row["assistant_id"], question: row["question"],
            occurrences: row["occurrences"], priority: row["priority"], status: row["status"],
            resolvedEntryId: row["resolved_entry_id"], createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    static let gapColumns = "id, org_id, assistant_id, question, occurrences, priority, status, resolved_entry_id, created_at, updated_at"

    public func recordGap(orgId: String, assistantId: String, question: String, normalized: String, newId: String, now: Date) throws -> KnowledgeGap {
        try database.write { db in
            let stamp = Timestamp.format(now)
            try db.execute(
                sql: """
                    INSERT INTO knowledge_gaps (id, org_id, assistant_id, question, normalized, occurrences, priority, status, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, 1, 'low', 'pending', ?, ?)
                    ON CONFLICT (assistant_id, normalized) WHERE status = 'pending' DO UPDATE SET
                        occurrences = occurrences + 1,
                        priority = CASE WHEN occurrences + 1 >= \(KnowledgeRules.highPriorityAt) THEN 'high'
                                        WHEN occurrences + 1 >= \(KnowledgeRules.mediumPriorityAt) THEN 'medium' ELSE 'low' END,
                        updated_at = excluded.updated_at
                    """,
                arguments: [newId, orgId, assistantId, question, normalized, stamp, stamp])
            return try Row.fetchOne(
                db, sql: "SELECT \(Self.gapColumns) FROM knowledge_gaps WHERE assistant_id = ? AND normalized = ? AND status = 'pending'",
                arguments: [assistantId, normalized]
            ).map(Self.gap)!
        }
    }

    public func gaps(orgId: String, filter: GapFilter, limit: Int, offset: Int) throws -> (items: [KnowledgeGap], total: Int) {
        try database.read { db in
            var conditions = ["org_id = ?"]
            var arguments: StatementArguments = [orgId]
            if let a = filter.assistantId { conditions.append("assistant_id = ?"); arguments += [a] }
            if let s = filter.status { conditions.append("status = ?"); arguments += [s] }
            if let p = filter.priority { conditions.append("priority = ?"); arguments += [p] }
            let whereClause = conditions.joined(separator: " AND ")
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM knowledge_gaps WHERE \(whereClause)", arguments: arguments) ?? 0
            let items = try Row.fetchAll(
                db,
                sql: "SELECT \(Self.gapColumns) FROM knowledge_gaps WHERE \(whereClause) ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
                arguments: arguments + [limit, offset]
            ).map(Self.gap)
            return (items, total)
        }
    }

    public func gap(orgId: String, id: String) throws -> KnowledgeGap? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.gapColumns) FROM knowledge_gaps WHERE org_id = ? AND id = ?", arguments: [orgId, id])
                .map(Self.gap)
        }
    }

    public func resolveGap(orgId: String, id: String, entry: KnowledgeEntry, now: Date) throws -> KnowledgeGap {
        try database.write { db in
            guard var gap = try Row.fetchOne(
                db, sql: "SELECT \(Self.gapColumns) FROM knowledge_gaps WHERE org_id = ? AND id = ?", arguments: [orgId, id]
            ).map(Self.gap) else { throw StoreError.notFound("Knowledge gap") }
            guard gap.status == "pending" else { throw StoreError.conflict("This knowledge gap is already resolved") }
            try Self.insert(db, entry)
            gap.status = "resolved"
            gap.resolvedEntryId = entry.id
            gap.updatedAt = Timestamp.format(now)
            try db.execute(
                sql: "UPDATE knowledge_gaps SET status = 'resolved', resolved_entry_id = ?, updated_at = ? WHERE id = ?",
                arguments: [entry.id, gap.updatedAt, id])
            return gap
        }
    }

    // MARK: conversations

    static let conversationColumns = """
        id, org_id, assistant_id, phone_number_id, channel, type, status, ended_reason, started_at, ended_at,
        last_activity_at, duration_seconds, sentiment, resolution, summary, success_evaluation, transcript,
        recording_url, stereo_recording_url, customer_number, cost, provider_chat_id, unanswered, created_at, updated_at,
        reported_at, day
        """

    static func conversation(_ row: Row) -> ConversationRecord {
        ConversationRecord(
            id: row["id"], orgId: row["org_id"], assistantId: row["assistant_id"], phoneNumberId: row["phone_number_id"],
            channel: row["channel"], type: row["type"], status: row["status"], endedReason: row["ended_reason"],
            startedAt: row["started_at"], endedAt: row["ended_at"], lastActivityAt: row["last_activity_at"],
            durationSeconds: row["duration_seconds"], sentiment: row["sentiment"], resolution: row["resolution"],
            summary: row["summary"], successEvaluation: row["success_evaluation"], transcript: row["transcript"],
            recordingUrl: row["recording_url"], stereoRecordingUrl: row["stereo_recording_url"],
            customerNumber: row["customer_number"], cost: row["cost"], providerChatId: row["provider_chat_id"],
            unanswered: row["unanswered"], createdAt: row["created_at"], updatedAt: row["updated_at"],
            reportedAt: row["reported_at"])
    }

    static func insertConversation(_ db: GRDB.Database, _ c: ConversationRecord) throws {
        try db.cachedStatement(
            sql: "INSERT INTO conversations (\(conversationColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ).execute(
            arguments: [
                c.id, c.orgId, c.assistantId, c.phoneNumberId, c.channel, c.type, c.status, c.endedReason, c.startedAt,
                c.endedAt, c.lastActivityAt, c.durationSeconds, c.sentiment, c.resolution, c.summary, c.successEvaluation,
                c.transcript, c.recordingUrl, c.stereoRecordingUrl, c.customerNumber, c.cost, c.providerChatId,
                c.unanswered, c.createdAt, c.updatedAt, c.reportedAt, c.day,
            ])
        try AnalyticsRollup.apply(db, c, sign: 1)
    }

    public func conversation(orgId: String, id: String) throws -> ConversationRecord? {
        try database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.conversationColumns) FROM conversations WHERE org_id = ? AND id = ?", arguments: [orgId, id]
            ).map(Self.conversation)
        }
    }

    public func messages(conversationId: String) throws -> [ConversationMessage] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT role, content, created_at FROM conversation_messages WHERE conversation_id = ? ORDER BY seq",
                arguments: [conversationId]
            ).map {
                ConversationMessage(role: ConversationMessage.Role(rawValue: $0["role"]) ?? .error, content: $0["content"], createdAt: $0["created_at"])
            }
        }
    }

    static func append(_ db: GRDB.Database, _ conversationId: String, _ messages: [ConversationMessage]) throws {
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

    public func startConversation(_ c: ConversationRecord, messages: [ConversationMessage]) throws {
        try database.write { db in
            try Self.insertConversation(db, c)
            try Self.append(db, c.id, messages)
        }
    }

    public func appendMessages(
        conversationId: String, _ messages: [ConversationMessage], now: Date, cost: Double?, unanswered: Int,
        providerChatId: String?
    ) throws {
        try database.write { db in
            let stamp = Timestamp.format(now)
            // A new turn reopens an ended chat: it leaves the analytics until it ends again.
            if let current = try Row.fetchOne(
                db, sql: "SELECT \(Self.conversationColumns) FROM conversations WHERE id = ?", arguments: [conversationId]
            ).map(Self.conversation), current.isCounted {
                try AnalyticsRollup.apply(db, current, sign: -1)
            }
            try db.execute(
                sql: """
                    UPDATE conversations SET last_activity_at = ?, updated_at = ?, status = 'in-progress',
                        ended_at = NULL, ended_reason = NULL, sentiment = NULL, resolution = NULL,
                        cost = CASE WHEN ? IS NULL THEN cost ELSE COALESCE(cost, 0) + ? END,
                        unanswered = unanswered + ?, provider_chat_id = COALESCE(?, provider_chat_id)
                    WHERE id = ?
                    """,
                arguments: [stamp, stamp, cost, cost, unanswered, providerChatId, conversationId])
            try Self.append(db, conversationId, messages)
        }
    }

    public func endConversation(id: String, outcome: ConversationOutcome, now: Date) throws {
        try database.write { db in
            guard let c = try Row.fetchOne(
                db, sql: "SELECT \(Self.conversationColumns) FROM conversations WHERE id = ?", arguments: [id]
            ).map(Self.conversation) else { throw StoreError.notFound("Conversation") }
            let started = Timestamp.parse(c.startedAt) ?? now
            let last = Timestamp.parse(c.lastActivityAt) ?? now
            let transcript = try Row.fetchAll(
                db, sql: "SELECT role, content FROM conversation_messages WHERE conversation_id = ? AND role <> 'error' ORDER BY seq",
                arguments: [id]
            ).map { ($0["role"] as String == "user" ? "User: " : "AI: ") + ($0["content"] as String) }.joined(separator: "\n")
            try db.execute(
                sql: """
                    UPDATE conversations SET status = 'ended', ended_at = ?, ended_reason = ?, duration_seconds = ?,
                        summary = ?, success_evaluation = ?, sentiment = ?, resolution = ?, transcript = ?, updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [
                    c.lastActivityAt, outcome.endedReason, max(0, Int(last.timeIntervalSince(started).rounded())),
                    outcome.summary, outcome.successEvaluation, outcome.sentiment, outcome.resolution, transcript,
                    Timestamp.format(now), id,
                ])
            if c.isCounted { try AnalyticsRollup.apply(db, c, sign: -1) }
            if let ended = try Row.fetchOne(
                db, sql: "SELECT \(Self.conversationColumns) FROM conversations WHERE id = ?", arguments: [id]
            ).map(Self.conversation) {
                try AnalyticsRollup.apply(db, ended, sign: 1)
            }
        }
    }

    public func idleConversations(before cutoff: Date, limit: Int) throws -> [ConversationRecord] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.conversationColumns) FROM conversations WHERE status = 'in-progress' AND last_activity_at < ? ORDER BY last_activity_at LIMIT ?",
                arguments: [Timestamp.format(cutoff), limit]
            ).map(Self.conversation)
        }
    }
}
