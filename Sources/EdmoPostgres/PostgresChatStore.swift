import EdmoCore
import EdmoStore
import Foundation

/// `ChatStore` on PostgreSQL: the behaviour of `SQLiteChatStore`, safe for several edmo hosts writing at
/// once (a gap is counted by one upsert, a read-then-write locks its row). Conversations are in
/// PostgresChatStore+Conversations.swift, the knowledge search in PostgresKnowledgeSearch.swift.
public struct PostgresChatStore: ChatStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    // MARK: knowledge

    public func knowledgeEntries(orgId: String, assistantId: String, limit: Int, offset: Int) throws -> (items: [KnowledgeEntry], total: Int) {
        try database.read { connection in
            var conditions = PostgresConditions()
            conditions.add("org_id = ? AND assistant_id = ?", orgId, assistantId)
            let page = try connection.page(
                "knowledge_entries", columns: ChatColumns.knowledgeEntry, conditions, order: "created_at DESC, id DESC",
                limit: limit, offset: offset)
            return (try page.rows.map(KnowledgeEntry.init(postgres:)), page.total)
        }
    }

    public func knowledgeEntry(orgId: String, assistantId: String, id: String) throws -> KnowledgeEntry? {
        try database.read { connection in
            try connection.query(
                "SELECT \(ChatColumns.knowledgeEntry) FROM knowledge_entries WHERE org_id = $1 AND assistant_id = $2 AND id = $3",
                [orgId, assistantId, id]
            ).first.map(KnowledgeEntry.init(postgres:))
        }
    }

    public func insertKnowledge(_ entries: [KnowledgeEntry]) throws {
        try database.write { connection in
            for entry in entries { try Self.insert(connection, entry) }
        }
    }

    /// The search columns are derived from the texts whenever they are written, as on SQLite; the search
    /// vector is generated from them by PostgreSQL.
    static func insert(_ connection: PostgresConnection, _ e: KnowledgeEntry) throws {
        try connection.execute(
            """
            INSERT INTO knowledge_entries (id, org_id, assistant_id, title, content, questions, created_at, updated_at, version,
                                           search_title, search_content, search_questions)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """,
            [e.id, e.orgId, e.assistantId, e.title, e.content, e.questions.joined(separator: "\n"), e.createdAt, e.updatedAt,
             e.version] + searchTexts(e))
    }

    static func searchTexts(_ e: KnowledgeEntry) -> [(any PostgresEncodable)?] {
        [KnowledgeRules.searchText(e.title), KnowledgeRules.searchText(e.content),
         KnowledgeRules.searchText(e.questions.joined(separator: " "))]
    }

    public func updateKnowledge(_ e: KnowledgeEntry) throws -> Int {
        try database.write { connection in
            let changed = try connection.execute(
                """
                UPDATE knowledge_entries SET title = $1, content = $2, questions = $3, updated_at = $4,
                    search_title = $5, search_content = $6, search_questions = $7, version = version + 1
                WHERE id = $8 AND org_id = $9 AND assistant_id = $10 AND version = $11
                """,
                [e.title, e.content, e.questions.joined(separator: "\n"), e.updatedAt] + Self.searchTexts(e)
                    + [e.id, e.orgId, e.assistantId, e.version])
            try PostgresResourceStore.requireChange(connection, changed, "knowledge_entries", "Knowledge entry", id: e.id)
            return e.version + 1
        }
    }

    public func deleteKnowledge(orgId: String, assistantId: String, id: String, version: Int?) throws {
        try database.write { connection in
            let changed = try connection.execute(
                "DELETE FROM knowledge_entries WHERE id = $1 AND org_id = $2 AND assistant_id = $3 AND ($4::integer IS NULL OR version = $4)",
                [id, orgId, assistantId, version])
            try PostgresResourceStore.requireChange(connection, changed, "knowledge_entries", "Knowledge entry", id: id)
        }
    }

    // MARK: gaps

    /// One statement: hosts recording the same question at once all land on the one pending row (the
    /// partial unique index), each adding its occurrence after the previous one committed.
    public func recordGap(
        orgId: String, assistantId: String, question: String, normalized: String, newId: String, now: Date, event: OutboxEvent?
    ) throws -> KnowledgeGap {
        try database.write { connection in
            let gap = try KnowledgeGap(postgres: try connection.query(
                """
                INSERT INTO knowledge_gaps (id, org_id, assistant_id, question, normalized, occurrences, priority, status, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, 1, 'low', 'pending', $6, $6)
                ON CONFLICT (assistant_id, normalized) WHERE status = 'pending' DO UPDATE SET
                    occurrences = knowledge_gaps.occurrences + 1,
                    priority = CASE WHEN knowledge_gaps.occurrences + 1 >= \(KnowledgeRules.highPriorityAt) THEN 'high'
                                    WHEN knowledge_gaps.occurrences + 1 >= \(KnowledgeRules.mediumPriorityAt) THEN 'medium'
                                    ELSE 'low' END,
                    updated_at = excluded.updated_at
                RETURNING \(ChatColumns.gap)
                """,
                [newId, orgId, assistantId, question, normalized, now])[0])
            if gap.id == newId { try PostgresOutbox.write(connection, event) }
            return gap
        }
    }

    public func gaps(orgId: String, filter: GapFilter, limit: Int, offset: Int) throws -> (items: [KnowledgeGap], total: Int) {
        try database.read { connection in
            var conditions = PostgresConditions()
            conditions.add("org_id = ?", orgId)
            if let a = filter.assistantId { conditions.add("assistant_id = ?", a) }
            if let s = filter.status { conditions.add("status = ?", s) }
            if let p = filter.priority { conditions.add("priority = ?", p) }
            let page = try connection.page(
                "knowledge_gaps", columns: ChatColumns.gap, conditions, order: "updated_at DESC, id DESC", limit: limit, offset: offset)
            return (try page.rows.map(KnowledgeGap.init(postgres:)), page.total)
        }
    }

    public func gap(orgId: String, id: String) throws -> KnowledgeGap? {
        try database.read { connection in try Self.fetchGap(connection, orgId: orgId, id: id) }
    }

    static func fetchGap(_ connection: PostgresConnection, orgId: String, id: String, locking: Bool = false) throws -> KnowledgeGap? {
        try connection.query(
            "SELECT \(ChatColumns.gap) FROM knowledge_gaps WHERE org_id = $1 AND id = $2" + (locking ? " FOR UPDATE" : ""), [orgId, id]
        ).first.map(KnowledgeGap.init(postgres:))
    }

    /// The gap is locked while it is checked: of two hosts resolving it at once, the second waits, then
    /// reads it resolved (a conflict) rather than adding a second entry.
    public func resolveGap(orgId: String, id: String, entry: KnowledgeEntry, now: Date) throws -> KnowledgeGap {
        try database.write { connection in
            guard var gap = try Self.fetchGap(connection, orgId: orgId, id: id, locking: true) else { throw StoreError.notFound("Knowledge gap") }
            guard gap.status == "pending" else { throw StoreError.conflict("This knowledge gap is already resolved") }
            try Self.insert(connection, entry)
            gap.status = "resolved"
            gap.resolvedEntryId = entry.id
            gap.updatedAt = Timestamp.format(now)
            try connection.execute(
                "UPDATE knowledge_gaps SET status = $1, resolved_entry_id = $2, updated_at = $3 WHERE id = $4",
                [gap.status, gap.resolvedEntryId, gap.updatedAt, gap.id])
            return gap
        }
    }
}
