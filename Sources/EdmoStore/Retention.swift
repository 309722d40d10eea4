import EdmoCore
import Foundation

/// An organisation's settings (`/api/organization/settings`).
public struct OrganizationSettings: Sendable, Equatable {
    /// Days a conversation is kept after it started. nil: the deployment's default (`EDMO_RETENTION_DAYS`);
    /// 0: kept forever, whatever the default.
    public var retentionDays: Int?

    public init(retentionDays: Int? = nil) {
        self.retentionDays = retentionDays
    }

    public static let retentionRange = 0...36_500
}

/// What a removal took away: conversations, and the messages they held.
public struct RemovedCounts: Sendable, Equatable {
    public var conversations: Int
    public var messages: Int

    public init(conversations: Int = 0, messages: Int = 0) {
        self.conversations = conversations
        self.messages = messages
    }

    public static func + (a: RemovedCounts, b: RemovedCounts) -> RemovedCounts {
        RemovedCounts(conversations: a.conversations + b.conversations, messages: a.messages + b.messages)
    }
}

/// Whose conversations an erasure removes: a caller's number as the provider reported it
/// (`customer_number`), or one conversation by its id (a chat's `chatId`).
public enum ErasureSelector: Sendable, Equatable {
    case phoneNumber(String)
    case conversationId(String)

    /// The kind alone, without the value: what the audit log may keep.
    public var kind: String {
        switch self {
        case .phoneNumber: "phoneNumber"
        case .conversationId: "chatId"
        }
    }
}

extension AnalyticsCounts {
    /// Field by field: the recount adds the removed conversations' counts to the stored ones.
    public static func + (a: AnalyticsCounts, b: AnalyticsCounts) -> AnalyticsCounts {
        var out = AnalyticsCounts()
        out.total = a.total + b.total
        out.resolved = a.resolved + b.resolved
        out.escalated = a.escalated + b.escalated
        out.failed = a.failed + b.failed
        out.durationSeconds = a.durationSeconds + b.durationSeconds
        out.web = a.web + b.web
        out.phone = a.phone + b.phone
        out.positive = a.positive + b.positive
        out.neutral = a.neutral + b.neutral
        out.negative = a.negative + b.negative
        return out
    }
}

extension AnalyticsStore {
    /// A call report without the erasure check: for tests and tools that write calls directly. Ingestion
    /// (`CallIngestion.store`) passes the erased-id key.
    public func upsertCall(_ record: ConversationRecord, messages: [ConversationMessage]) throws -> Bool {
        try upsertCall(record, messages: messages, erasedKey: nil)
    }
}
