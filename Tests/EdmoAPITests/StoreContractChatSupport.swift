import EdmoCore
import EdmoPostgres
import EdmoSQLite
import EdmoStore
import Foundation
import GRDB
import Synchronization
import Testing

/// A fresh database of one `StoreKind` with all four stores (`ContractDatabase` holds only the account and
/// resource stores), and the fixtures the chat and analytics contracts need. Immutable once made, so the
/// threads of a concurrency test may share it.
final class ChatContractDatabase: @unchecked Sendable {
    let kind: StoreKind
    let stores: Stores
    private let scratch: PostgresScratchDatabase?
    private let directory: String?

    var chats: any ChatStore { stores.chats }
    var analytics: any AnalyticsStore { stores.analytics }
    /// Runs SQL on the database itself, for what the protocols do not offer (a trigger that makes a write fail).
    let execute: @Sendable (String) throws -> Void
    /// Counts a table's rows.
    let rows: @Sendable (String) throws -> Int
    /// The database of a SQLite store, for what only it has (its group commit's queue).
    let sqlite: EdmoDatabase?

    /// The aggregates for `filter` (every organisation and day unless told), which must equal the recount.
    func countsEqualToRecount(_ filter: AnalyticsFilter = AnalyticsFilter(orgId: nil, fromDay: "2024-01-01")) throws -> AnalyticsCounts {
        let counts = try analytics.counts(filter)
        #expect(try analytics.recount(filter) == counts)
        return counts
    }

    init(_ kind: StoreKind) throws {
        self.kind = kind
        switch kind {
        case .sqlite:
            let directory = makeTempDirectory()
            let database = try EdmoDatabase(path: directory + "/edmo.sqlite")
            try database.migrate(try Migration.load(from: migrationsPath))
            (stores, self.directory, scratch, sqlite) = (database.stores, directory, nil, database)
            execute = { sql in try database.write { try $0.execute(sql: sql) } }
            rows = { table in try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 } }
        case .postgres:
            let scratch = try PostgresScratchDatabase()
            let database = try PostgresDatabase(url: scratch.url, poolSize: 8)
            try database.migrate(try Migration.load(from: postgresMigrationsPath))
            stores = database.stores
            (self.scratch, directory, sqlite) = (scratch, nil, nil)
            execute = { sql in try database.write { try $0.executeScript(sql) } }
            rows = { table in try database.read { try $0.query("SELECT count(*) AS n FROM \(table)")[0]["n"] } }
        }
    }

    deinit {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    // MARK: fixtures: ids chosen by the test, dates `second` seconds after t0

    /// An organisation with the id and name `id`, and assistants (documents of the resource store) in it.
    func organization(_ id: String, assistants: [String] = []) throws {
        _ = try stores.accounts.ensureOrganization(name: id, id: id, now: t0)
        for assistant in assistants {
            try stores.resources.insertDocument(
                .assistant, DocumentRecord(id: assistant, orgId: id, body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
                secret: nil, completing: nil)
        }
    }

    @discardableResult
    func entry(
        _ id: String, org: String = "org_a", assistant: String = "asst_a", title: String, content: String = "",
        questions: [String] = [], second: Int = 0
    ) throws -> KnowledgeEntry {
        let entry = knowledgeEntry(id, org: org, assistant: assistant, title: title, content: content, questions: questions, second: second)
        try chats.insertKnowledge([entry])
        return entry
    }

    /// A call report as `CallIngestion.parse` makes one: ended and analysed unless told otherwise.
    func call(
        _ id: String, org: String = "org_a", assistant: String? = "asst_a", number: String? = nil, second: Int = 0,
        channel: ConversationChannel = .phone, sentiment: Sentiment? = .positive, resolution: Resolution? = .resolved,
        duration: Int = 60, reportedSecond: Int? = nil, status: ConversationStatus = .ended
    ) -> ConversationRecord {
        ConversationRecord(
            id: id, orgId: org, assistantId: assistant, phoneNumberId: number, channel: channel, type: "inboundPhoneCall",
            status: status, endedReason: "customer-ended-call", startedAt: chatStamp(second), endedAt: chatStamp(second + duration),
            lastActivityAt: chatStamp(second + duration), durationSeconds: duration, sentiment: sentiment, resolution: resolution,
            summary: "Summary of \(id)", transcript: "AI: Hello", cost: 0.25, unanswered: 0, createdAt: chatStamp(second),
            updatedAt: chatStamp(second + duration), reportedAt: reportedSecond.map(chatStamp))
    }

    /// A web chat opened `second` seconds after t0 with one user message.
    @discardableResult
    func chat(_ id: String, org: String = "org_a", assistant: String = "asst_a", second: Int = 0, text: String = "Hello?") throws -> ConversationRecord {
        let record = ConversationRecord.webChat(id: id, orgId: org, assistantId: assistant, at: chatStamp(second))
        try chats.startConversation(record, messages: [chatMessage(.user, text, second: second)])
        return record
    }
}

func chatStamp(_ second: Int) -> String { Timestamp.format(t0.addingTimeInterval(TimeInterval(second))) }

func chatMessage(_ role: ConversationMessage.Role, _ text: String, second: Int = 0) -> ConversationMessage {
    ConversationMessage(role: role, content: text, createdAt: chatStamp(second))
}

func knowledgeEntry(
    _ id: String, org: String = "org_a", assistant: String = "asst_a", title: String, content: String = "",
    questions: [String] = [], second: Int = 0
) -> KnowledgeEntry {
    KnowledgeEntry(
        id: id, orgId: org, assistantId: assistant, title: title, content: content, questions: questions,
        createdAt: chatStamp(second), updatedAt: chatStamp(second))
}

/// An outcome as `ConversationAnalysis` gives one.
func chatOutcome(_ sentiment: Sentiment = .positive, _ resolution: Resolution = .resolved, reason: String = "customer-ended-chat") -> ConversationOutcome {
    ConversationOutcome(summary: "A summary", successEvaluation: "true", sentiment: sentiment, resolution: resolution, endedReason: reason)
}

/// Every analytics filter a test compares the aggregates with the recount on.
func analyticsFilters(orgs: [String?], assistants: [String?], numbers: [String?], fromDays: [String]) -> [AnalyticsFilter] {
    var filters: [AnalyticsFilter] = []
    for org in orgs { for day in fromDays { for assistant in assistants { for number in numbers {
        filters.append(AnalyticsFilter(orgId: org, fromDay: day, assistantId: assistant, phoneNumberId: number))
    } } } }
    for org in orgs {
        for channel in ConversationChannel.allCases { filters.append(AnalyticsFilter(orgId: org, fromDay: fromDays[0], channel: channel)) }
        for sentiment in Sentiment.allCases { filters.append(AnalyticsFilter(orgId: org, fromDay: fromDays[0], sentiment: sentiment)) }
        for resolution in Resolution.allCases { filters.append(AnalyticsFilter(orgId: org, fromDay: fromDays[0], resolution: resolution)) }
    }
    return filters
}

/// Runs `body` on `count` threads at once (see `runThreads`), each given its own number from 1.
func runNumberedThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) throws {
    let next = Mutex(0)
    try runThreads(count) { body(next.withLock { $0 += 1; return $0 }) }
}
