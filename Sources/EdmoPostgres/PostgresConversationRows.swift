import EdmoCore
import EdmoStore
import Foundation

// Reading the chat and analytics tables into the store's records. As in PostgresStoreRows.swift, column
// lists are spelled out (never `*`), so a column a later migration adds changes no statement's result.

enum ChatColumns {
    static let knowledgeEntry = "id, org_id, assistant_id, title, content, questions, created_at, updated_at, version"
    static let gap = """
        id, org_id, assistant_id, question, occurrences, priority, status, resolved_entry_id, created_at, updated_at
        """
    static let analyticsKey = "id, org_id, name, prefix, created_at, revoked_at"
    /// Every column a conversation is written with, in the order of `ConversationRecord.postgresValues`.
    static let conversation = """
        id, org_id, assistant_id, phone_number_id, channel, type, status, ended_reason, started_at, ended_at, \
        last_activity_at, duration_seconds, sentiment, resolution, summary, success_evaluation, transcript, \
        recording_url, stereo_recording_url, customer_number, cost, provider_chat_id, unanswered, created_at, \
        updated_at, reported_at, day
        """
}

/// A column's text as one of the record's enums; a value the enum does not know is a corrupt row, as a
/// failed decode is on SQLite.
private func decoded<T: RawRepresentable>(_ row: PostgresRow, _ column: String, as: T.Type) throws -> T where T.RawValue == String {
    let raw: String = try row[column]
    guard let value = T(rawValue: raw) else { throw PostgresError(message: "conversations.\(column) \(raw) is not a \(T.self)") }
    return value
}

private func decodedIfPresent<T: RawRepresentable>(_ row: PostgresRow, _ column: String, as: T.Type) throws -> T? where T.RawValue == String {
    try row.isNull(column) ? nil : try decoded(row, column, as: T.self)
}

extension ConversationRecord {
    init(postgres row: PostgresRow) throws {
        self.init(
            id: try row["id"], orgId: try row["org_id"], assistantId: try row["assistant_id"],
            phoneNumberId: try row["phone_number_id"], channel: try decoded(row, "channel", as: ConversationChannel.self),
            type: try row["type"], status: try decoded(row, "status", as: ConversationStatus.self),
            endedReason: try row["ended_reason"], startedAt: try row["started_at"], endedAt: try row["ended_at"],
            lastActivityAt: try row["last_activity_at"], durationSeconds: try row["duration_seconds"],
            sentiment: try decodedIfPresent(row, "sentiment", as: Sentiment.self),
            resolution: try decodedIfPresent(row, "resolution", as: Resolution.self), summary: try row["summary"],
            successEvaluation: try row["success_evaluation"], transcript: try row["transcript"],
            recordingUrl: try row["recording_url"], stereoRecordingUrl: try row["stereo_recording_url"],
            customerNumber: try row["customer_number"], cost: try row["cost"], providerChatId: try row["provider_chat_id"],
            unanswered: try row["unanswered"], createdAt: try row["created_at"], updatedAt: try row["updated_at"],
            reportedAt: try row["reported_at"])
    }

    /// The values of `ChatColumns.conversation`; `day` is always the record's, as SQLite's row stores it.
    var postgresValues: [(any PostgresEncodable)?] {
        [id, orgId, assistantId, phoneNumberId, channel.rawValue, type, status.rawValue, endedReason, startedAt, endedAt,
         lastActivityAt, durationSeconds, sentiment?.rawValue, resolution?.rawValue, summary, successEvaluation, transcript,
         recordingUrl, stereoRecordingUrl, customerNumber, cost, providerChatId, unanswered, createdAt, updatedAt,
         reportedAt, day]
    }
}

extension ConversationMessage {
    /// An unknown role reads as `.error`, as on SQLite.
    init(postgres row: PostgresRow) throws {
        self.init(role: Role(rawValue: try row["role"]) ?? .error, content: try row["content"], createdAt: try row["created_at"])
    }
}

extension KnowledgeEntry {
    init(postgres row: PostgresRow) throws {
        let questions: String = try row["questions"]
        self.init(
            id: try row["id"], orgId: try row["org_id"], assistantId: try row["assistant_id"], title: try row["title"],
            content: try row["content"], questions: questions.isEmpty ? [] : questions.components(separatedBy: "\n"),
            createdAt: try row["created_at"], updatedAt: try row["updated_at"], version: try row["version"])
    }
}

extension KnowledgeGap {
    init(postgres row: PostgresRow) throws {
        self.init(
            id: try row["id"], orgId: try row["org_id"], assistantId: try row["assistant_id"], question: try row["question"],
            occurrences: try row["occurrences"], priority: try row["priority"], status: try row["status"],
            resolvedEntryId: try row["resolved_entry_id"], createdAt: try row["created_at"], updatedAt: try row["updated_at"])
    }
}

extension AnalyticsKey {
    init(postgres row: PostgresRow) throws {
        self.init(
            id: try row["id"], orgId: try row["org_id"], name: try row["name"], prefix: try row["prefix"],
            createdAt: try row["created_at"], revokedAt: try row["revoked_at"])
    }
}

/// A `text[]` parameter, so that a list of any length is one statement (and one prepared plan): written as
/// an array literal with every element quoted, `\` and `"` escaped, so no element is read as syntax.
struct PostgresTextArray: PostgresEncodable {
    let elements: [String]

    init(_ elements: [String]) { self.elements = elements }

    var postgresValue: PostgresValue {
        let quoted = elements.map { element in
            "\"" + element.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return .text("{" + quoted.joined(separator: ",") + "}")
    }
}

/// WHERE conditions built up with their parameters: `add("org_id = ?", orgId)` numbers each `?` as the next
/// `$n`, so that optional filters can be left out without renumbering by hand.
struct PostgresConditions {
    private(set) var clauses: [String] = []
    private(set) var parameters: [(any PostgresEncodable)?] = []

    mutating func add(_ sql: String, _ values: (any PostgresEncodable)?...) { clauses.append(bind(sql, values)) }

    /// `sql` with each `?` replaced by the placeholder of the next value (for what follows the WHERE clause).
    mutating func bind(_ sql: String, _ values: [(any PostgresEncodable)?]) -> String {
        var text = "", next = values.makeIterator()
        for character in sql {
            guard character == "?" else { text.append(character); continue }
            parameters.append(next.next() ?? nil)
            text += "$\(parameters.count)"
        }
        return text
    }

    var whereClause: String { clauses.isEmpty ? "true" : clauses.joined(separator: " AND ") }
}

extension PostgresConnection {
    /// One page of `table`'s rows matching `conditions` in `order` (`"a DESC, b DESC"`), with how many match
    /// in all: one statement, so page and total come from one snapshot, as `newestFirst` does for lists
    /// filtered by more than the organisation. `columns` must include those of `order`.
    func page(
        _ table: String, columns: String, _ conditions: PostgresConditions, order: String, limit: Int, offset: Int
    ) throws -> (rows: [PostgresRow], total: Int) {
        var conditions = conditions
        // SQLite reads a negative LIMIT as none and a negative OFFSET as 0, where PostgreSQL refuses both.
        let limitAt = conditions.bind("?", [limit < 0 ? nil : limit]), offsetAt = conditions.bind("?", [max(offset, 0)])
        let outerOrder = order.split(separator: ",").map { "page." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        let result = try query(
            """
            SELECT counted.total, page.* FROM (SELECT count(*) AS total FROM \(table) WHERE \(conditions.whereClause)) AS counted
            LEFT JOIN LATERAL (
                SELECT \(columns) FROM \(table) WHERE \(conditions.whereClause) ORDER BY \(order) LIMIT \(limitAt) OFFSET \(offsetAt)
            ) AS page ON true
            ORDER BY \(outerOrder)
            """,
            conditions.parameters)
        let total: Int = try result.first?["total"] ?? 0
        return (try result.rows.filter { !(try $0.isNull("id")) }, total)
    }
}
