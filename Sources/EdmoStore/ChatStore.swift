import EdmoCore
import Foundation


public struct KnowledgeGap: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var assistantId: String
    public var question: String
    public var occurrences: Int
    public var priority: String
    public var status: String
    public var resolvedEntryId: String?
    public var createdAt: String
    public var updatedAt: String

    public init(
        id: String, orgId: String, assistantId: String, question: String, occurrences: Int, priority: String,
        status: String, resolvedEntryId: String? = nil, createdAt: String, updatedAt: String
    ) {
        self.id = id
        self.orgId = orgId
        self.assistantId = assistantId
        self.question = question
        self.occurrences = occurrences
        self.priority = priority
        self.status = status
        self.resolvedEntryId = resolvedEntryId
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct GapFilter: Sendable {
    public var assistantId: String?
    public var status: String?
    public var priority: String?

    public init(
        assistantId: String? = nil, status: String? = nil, priority: String? = nil
    ) {
        self.assistantId = assistantId
        self.status = status
        self.priority = priority
    }
}

/// Knowledge bases, knowledge gaps and conversations. Scoped by organisation (and assistant).
public protocol ChatStore: Sendable {
    func knowledgeEntries(orgId: String, assistantId: String, limit: Int, offset: Int) throws -> (items: [KnowledgeEntry], total: Int)
    func knowledgeEntry(orgId: String, assistantId: String, id: String) throws -> KnowledgeEntry?
    /// All or nothing: one transaction for the whole batch.
    func insertKnowledge(_ entries: [KnowledgeEntry]) throws
    /// Conditional on `entry.version`, like `ResourceStore.updateDocument`; returns the new version.
    @discardableResult
    func updateKnowledge(_ entry: KnowledgeEntry) throws -> Int
    func deleteKnowledge(orgId: String, assistantId: String, id: String, version: Int?) throws
    /// Entries holding any of the search terms (see `KnowledgeRules.searchTerms`), best first by bm25.
    func searchKnowledge(assistantId: String, terms: [String], limit: Int) throws -> [KnowledgeEntry]

    /// Records an unanswered question: a new pending gap, or one more occurrence of the same one.
    /// `event` is written in the same transaction only when the gap is new (its id is `newId`).
    func recordGap(
        orgId: String, assistantId: String, question: String, normalized: String, newId: String, now: Date, event: OutboxEvent?
    ) throws -> KnowledgeGap
    func gaps(orgId: String, filter: GapFilter, limit: Int, offset: Int) throws -> (items: [KnowledgeGap], total: Int)
    func gap(orgId: String, id: String) throws -> KnowledgeGap?
    /// Adds the answer as a knowledge entry and marks the gap resolved, in one transaction.
    func resolveGap(orgId: String, id: String, entry: KnowledgeEntry, now: Date) throws -> KnowledgeGap

    func conversation(orgId: String, id: String) throws -> ConversationRecord?
    func messages(conversationId: String) throws -> [ConversationMessage]
    func startConversation(_ record: ConversationRecord, messages: [ConversationMessage]) throws
    /// Appends messages and moves `last_activity_at`; adds `cost` and `unanswered` to the totals.
    func appendMessages(
        conversationId: String, _ messages: [ConversationMessage], now: Date, cost: Double?, unanswered: Int,
        providerChatId: String?) throws
    /// `event` builds the outbound event from the ended conversation; it is written in the same transaction.
    func endConversation(
        id: String, outcome: ConversationOutcome, now: Date, event: (ConversationRecord) throws -> OutboxEvent?) throws
    /// Open conversations with no activity since `cutoff`.
    func idleConversations(before cutoff: Date, limit: Int) throws -> [ConversationRecord]
}

extension ChatStore {
    public func recordGap(orgId: String, assistantId: String, question: String, normalized: String, newId: String, now: Date) throws -> KnowledgeGap {
        try recordGap(orgId: orgId, assistantId: assistantId, question: question, normalized: normalized, newId: newId, now: now, event: nil)
    }

    public func endConversation(id: String, outcome: ConversationOutcome, now: Date) throws {
        try endConversation(id: id, outcome: outcome, now: now, event: { _ in nil })
    }
}
