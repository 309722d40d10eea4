import EdmoStore
import EdmoCore
import Foundation
import GRDB

public struct SQLiteChatStore: ChatStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) { self.database = database }

    // MARK: knowledge

    public func knowledgeEntries(orgId: String, assistantId: String, limit: Int, offset: Int) throws -> (items: [KnowledgeEntry], total: Int) {
        try database.read { db in
            let items = try KnowledgeEntryRow.fetchAll(
                db,
                sql: """
                    SELECT \(KnowledgeEntryRow.columns) FROM knowledge_entries WHERE org_id = ? AND assistant_id = ?
                    ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?
                    """,
                arguments: [orgId, assistantId, limit, offset]
            ).map(\.entry)
            let total = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM knowledge_entries WHERE org_id = ? AND assistant_id = ?",
                arguments: [orgId, assistantId]) ?? 0
            return (items, total)
        }
    }

    public func knowledgeEntry(orgId: String, assistantId: String, id: String) throws -> KnowledgeEntry? {
        try database.read { db in
            try KnowledgeEntryRow.fetchOne(
                db, sql: "SELECT \(KnowledgeEntryRow.columns) FROM knowledge_entries WHERE org_id = ? AND assistant_id = ? AND id = ?",
                arguments: [orgId, assistantId, id]
            )?.entry
        }
    }

    public func insertKnowledge(_ entries: [KnowledgeEntry]) throws {
        try database.write { db in
            for entry in entries { try KnowledgeEntryRow(entry).insert(db) }
        }
    }

    public func updateKnowledge(_ e: KnowledgeEntry) throws -> Int {
        try database.write { db in
            let row = KnowledgeEntryRow(e)
            // Conditional on the version read, which a record update cannot say.
            try db.execute(
                cached: """
                    UPDATE knowledge_entries SET title = ?, content = ?, questions = ?, updated_at = ?,
                        search_title = ?, search_content = ?, search_questions = ?, version = version + 1
                    WHERE id = ? AND org_id = ? AND assistant_id = ? AND version = ?
                    """,
                arguments: [
                    row.title, row.content, row.questions, row.updatedAt, row.searchTitle, row.searchContent,
                    row.searchQuestions, row.id, row.orgId, row.assistantId, row.version,
                ])
            try SQLiteResourceStore.requireChange(db, "knowledge_entries", "Knowledge entry", id: e.id)
            return e.version + 1
        }
    }

    public func deleteKnowledge(orgId: String, assistantId: String, id: String, version: Int?) throws {
        try database.write { db in
            try db.execute(
                cached: "DELETE FROM knowledge_entries WHERE id = ? AND org_id = ? AND assistant_id = ? AND (? IS NULL OR version = ?)",
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
            return try KnowledgeEntryRow.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT e.id, e.org_id, e.assistant_id, e.title, e.content, e.questions, e.created_at, e.updated_at, e.version
                        FROM knowledge_fts f JOIN knowledge_entries e ON e.rowid = f.rowid
                        WHERE knowledge_fts MATCH ? AND e.assistant_id = ?
                        ORDER BY bm25(knowledge_fts, 4.0, 1.0, 3.0), e.created_at, e.id LIMIT ?
                        """),
                arguments: [match, assistantId, limit]
            ).map(\.entry)
        }
    }

    // MARK: gaps

    public func recordGap(
        orgId: String, assistantId: String, question: String, normalized: String, newId: String, now: Date, event: OutboxEvent?
    ) throws -> KnowledgeGap {
        try database.write { db in
            let stamp = Timestamp.format(now)
            try db.execute(
                cached: """
                    INSERT INTO knowledge_gaps (id, org_id, assistant_id, question, normalized, occurrences, priority, status, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, 1, 'low', 'pending', ?, ?)
                    ON CONFLICT (assistant_id, normalized) WHERE status = 'pending' DO UPDATE SET
                        occurrences = occurrences + 1,
                        priority = CASE WHEN occurrences + 1 >= \(KnowledgeRules.highPriorityAt) THEN 'high'
                                        WHEN occurrences + 1 >= \(KnowledgeRules.mediumPriorityAt) THEN 'medium' ELSE 'low' END,
                        updated_at = excluded.updated_at
                    """,
                arguments: [newId, orgId, assistantId, question, normalized, stamp, stamp])
            let gap = try KnowledgeGapRow.fetchOne(
                db, sql: "SELECT * FROM knowledge_gaps WHERE assistant_id = ? AND normalized = ? AND status = 'pending'",
                arguments: [assistantId, normalized]
            )!.gap
            if gap.id == newId { try SQLiteOutbox.write(db, event) }
            return gap
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
            let items = try KnowledgeGapRow.fetchAll(
                db,
                sql: "SELECT * FROM knowledge_gaps WHERE \(whereClause) ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
                arguments: arguments + [limit, offset]
            ).map(\.gap)
            return (items, total)
        }
    }

    public func gap(orgId: String, id: String) throws -> KnowledgeGap? {
        try database.read { db in
            try Self.fetchGap(db, orgId: orgId, id: id)?.gap
        }
    }

    static func fetchGap(_ db: GRDB.Database, orgId: String, id: String) throws -> KnowledgeGapRow? {
        try KnowledgeGapRow.fetchOne(db, sql: "SELECT * FROM knowledge_gaps WHERE org_id = ? AND id = ?", arguments: [orgId, id])
    }

    public func resolveGap(orgId: String, id: String, entry: KnowledgeEntry, now: Date) throws -> KnowledgeGap {
        try database.write { db in
            guard var gap = try Self.fetchGap(db, orgId: orgId, id: id) else { throw StoreError.notFound("Knowledge gap") }
            guard gap.status == "pending" else { throw StoreError.conflict("This knowledge gap is already resolved") }
            try KnowledgeEntryRow(entry).insert(db)
            gap.status = "resolved"
            gap.resolvedEntryId = entry.id
            gap.updatedAt = Timestamp.format(now)
            try gap.update(db)
            return gap.gap
        }
    }

    // MARK: conversations

    public func conversation(orgId: String, id: String) throws -> ConversationRecord? {
        try database.read { db in
            try ConversationRow.fetchOne(db, sql: "SELECT * FROM conversations WHERE org_id = ? AND id = ?", arguments: [orgId, id])?.record
        }
    }

    public func messages(conversationId: String) throws -> [ConversationMessage] {
        try database.read { db in try ConversationRows.messages(db, conversationId: conversationId) }
    }

    public func startConversation(_ c: ConversationRecord, messages: [ConversationMessage]) throws {
        try database.write { db in
            try ConversationRows.insert(db, c)
            try ConversationRows.append(db, conversationId: c.id, messages)
        }
    }

    public func appendMessages(
        conversationId: String, _ messages: [ConversationMessage], now: Date, cost: Double?, unanswered: Int,
        providerChatId: String?
    ) throws {
        try database.write { db in
            let stamp = Timestamp.format(now)
            guard let current = try ConversationRows.find(db, id: conversationId) else {
                // Gone (erased, or removed by retention, while this turn ran); nothing to append changes nothing.
                if messages.isEmpty { return }
                throw StoreError.notFound("Chat")
            }
            // A new turn reopens an ended chat: it leaves the analytics until it ends again.
            if current.isCounted { try AnalyticsRollup.apply(db, current, sign: -1) }
            try db.execute(
                cached: """
                    UPDATE conversations SET last_activity_at = ?, updated_at = ?, status = ?,
                        ended_at = NULL, ended_reason = NULL, sentiment = NULL, resolution = NULL,
                        cost = CASE WHEN ? IS NULL THEN cost ELSE COALESCE(cost, 0) + ? END,
                        unanswered = unanswered + ?, provider_chat_id = COALESCE(?, provider_chat_id)
                    WHERE id = ?
                    """,
                arguments: [
                    stamp, stamp, ConversationStatus.inProgress.rawValue, cost, cost, unanswered, providerChatId, conversationId,
                ])
            try ConversationRows.append(db, conversationId: conversationId, messages)
        }
    }

    public func endConversation(
        id: String, outcome: ConversationOutcome, now: Date, event: (ConversationRecord) throws -> OutboxEvent?
    ) throws {
        try database.write { db in
            guard let open = try ConversationRows.find(db, id: id) else { throw StoreError.notFound("Conversation") }
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
            ended.transcript = try ConversationRows.messages(db, conversationId: id).filter { $0.role != .error }
                .map { ($0.role == .user ? "User: " : "AI: ") + $0.content }.joined(separator: "\n")
            ended.updatedAt = Timestamp.format(now)
            try ConversationRow(ended).update(db)
            if open.isCounted { try AnalyticsRollup.apply(db, open, sign: -1) }
            try AnalyticsRollup.apply(db, ended, sign: 1)
            try SQLiteOutbox.write(db, try event(ended))
        }
    }

    public func idleConversations(before cutoff: Date, limit: Int) throws -> [ConversationRecord] {
        try database.read { db in
            try ConversationRow.fetchAll(
                db,
                sql: "SELECT * FROM conversations WHERE status = ? AND last_activity_at < ? ORDER BY last_activity_at, id LIMIT ?",
                arguments: [ConversationStatus.inProgress.rawValue, Timestamp.format(cutoff), limit]
            ).map(\.record)
        }
    }
}
