import EdmoCore
import EdmoStore
import GRDB

/// A row of `knowledge_entries`. The search columns are derived from the texts whenever they are written;
/// reads select `columns`, which leave them out (nil), since nothing reads them back but the full-text index.
struct KnowledgeEntryRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "knowledge_entries"
    static let columns = "id, org_id, assistant_id, title, content, questions, created_at, updated_at, version"

    var id: String
    var orgId: String
    var assistantId: String
    var title: String
    var content: String
    /// One alternative phrasing per line.
    var questions: String
    var createdAt: String
    var updatedAt: String
    var version: Int
    var searchTitle: String?
    var searchContent: String?
    var searchQuestions: String?

    enum CodingKeys: String, CodingKey {
        case id, orgId = "org_id", assistantId = "assistant_id", title, content, questions, createdAt = "created_at"
        case updatedAt = "updated_at", version, searchTitle = "search_title", searchContent = "search_content"
        case searchQuestions = "search_questions"
    }

    init(_ e: KnowledgeEntry) {
        id = e.id; orgId = e.orgId; assistantId = e.assistantId; title = e.title; content = e.content
        questions = e.questions.joined(separator: "\n"); createdAt = e.createdAt; updatedAt = e.updatedAt; version = e.version
        searchTitle = KnowledgeRules.searchText(e.title)
        searchContent = KnowledgeRules.searchText(e.content)
        searchQuestions = KnowledgeRules.searchText(e.questions.joined(separator: " "))
    }

    var entry: KnowledgeEntry {
        KnowledgeEntry(
            id: id, orgId: orgId, assistantId: assistantId, title: title, content: content,
            questions: questions.isEmpty ? [] : questions.components(separatedBy: "\n"),
            createdAt: createdAt, updatedAt: updatedAt, version: version)
    }
}

/// A row of `knowledge_gaps`. Recorded by SQL (an upsert on the pending gap that counts occurrences).
struct KnowledgeGapRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "knowledge_gaps"

    var id: String
    var orgId: String
    var assistantId: String
    var question: String
    /// The question as `KnowledgeRules.normalize` makes it: one pending gap per assistant and normalised question.
    var normalized: String
    var occurrences: Int
    var priority: String
    var status: String
    var resolvedEntryId: String?
    var createdAt: String
    var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case id, orgId = "org_id", assistantId = "assistant_id", question, normalized, occurrences, priority, status
        case resolvedEntryId = "resolved_entry_id", createdAt = "created_at", updatedAt = "updated_at"
    }

    var gap: KnowledgeGap {
        KnowledgeGap(
            id: id, orgId: orgId, assistantId: assistantId, question: question, occurrences: occurrences,
            priority: priority, status: status, resolvedEntryId: resolvedEntryId, createdAt: createdAt, updatedAt: updatedAt)
    }
}
