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

public struct ConversationRecord: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var assistantId: String?
    public var phoneNumberId: String?
    public var channel: String
    public var type: String
    public var status: String
    public var endedReason: String?
    public var startedAt: String
    public var endedAt: String?
    public var lastActivityAt: String
    public var durationSeconds: Int
    public var sentiment: String?
    public var resolution: String?
    public var summary: String?
    public var successEvaluation: String?
    public var transcript: String?
    public var recordingUrl: String?
    public var stereoRecordingUrl: String?
    public var customerNumber: String?
    public var cost: Double?
    public var providerChatId: String?
    /// Turns the assistant could not answer (knowledge gaps or engine failures).
    public var unanswered: Int
    public var createdAt: String
    public var updatedAt: String
    /// Provider calls: when the report was sent (an older or repeated report changes nothing).
    public var reportedAt: String? = nil

    /// The UTC day it counts on in analytics.
    public var day: String { String(createdAt.prefix(10)) }
    /// Counted in analytics: ended and analysed.
    public var isCounted: Bool { status == "ended" && sentiment != nil && resolution != nil }

    public init(
        id: String, orgId: String, assistantId: String? = nil, phoneNumberId: String? = nil, channel: String,
        type: String, status: String, endedReason: String? = nil, startedAt: String, endedAt: String? = nil,
        lastActivityAt: String, durationSeconds: Int, sentiment: String? = nil, resolution: String? = nil,
        summary: String? = nil, successEvaluation: String? = nil, transcript: String? = nil,
        recordingUrl: String? = nil, stereoRecordingUrl: String? = nil, customerNumber: String? = nil,
        cost: Double? = nil, providerChatId: String? = nil, unanswered: Int, createdAt: String, updatedAt: String,
        reportedAt: String? = nil
    ) {
        self.id = id
        self.orgId = orgId
        self.assistantId = assistantId
        self.phoneNumberId = phoneNumberId
        self.channel = channel
        self.type = type
        self.status = status
        self.endedReason = endedReason
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.lastActivityAt = lastActivityAt
        self.durationSeconds = durationSeconds
        self.sentiment = sentiment
        self.resolution = resolution
        self.summary = summary
        self.successEvaluation = successEvaluation
        self.transcript = transcript
        self.recordingUrl = recordingUrl
        self.stereoRecordingUrl = stereoRecordingUrl
        self.customerNumber = customerNumber
        self.cost = cost
        self.providerChatId = providerChatId
        self.unanswered = unanswered
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.reportedAt = reportedAt
    }
}

public struct ConversationMessage: Sendable, Equatable {
    public enum Role: String, Sendable { case user, assistant, error }
    public var role: Role
    public var content: String
    public var createdAt: String

    public init(
        role: Role, content: String, createdAt: String
    ) {
        self.role = role
        self.content = content
        self.createdAt = createdAt
    }
}

/// What an ended conversation is given by `ConversationAnalysis`.
public struct ConversationOutcome: Sendable, Equatable {
    public var summary: String
    public var successEvaluation: String
    public var sentiment: String
    public var resolution: String
    public var endedReason: String

    public init(
        summary: String, successEvaluation: String, sentiment: String, resolution: String, endedReason: String
    ) {
        self.summary = summary
        self.successEvaluation = successEvaluation
        self.sentiment = sentiment
        self.resolution = resolution
        self.endedReason = endedReason
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
    func recordGap(orgId: String, assistantId: String, question: String, normalized: String, newId: String, now: Date) throws -> KnowledgeGap
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
    func endConversation(id: String, outcome: ConversationOutcome, now: Date) throws
    /// Open conversations with no activity since `cutoff`.
    func idleConversations(before cutoff: Date, limit: Int) throws -> [ConversationRecord]
}
