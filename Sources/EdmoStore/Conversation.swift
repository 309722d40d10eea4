import EdmoCore
import Foundation

/// A chat or a provider call. Built in one place per source: `webChat` for a chat's first turn,
/// `CallIngestion.parse` for a call report, the store's row mapping for a stored one.
public struct ConversationRecord: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var assistantId: String?
    public var phoneNumberId: String?
    public var channel: ConversationChannel
    /// The platform's call type (`webCall`, `inboundPhoneCall`, ...) or `webChat`: open-ended, kept as sent.
    public var type: String
    public var status: ConversationStatus
    public var endedReason: String?
    public var startedAt: String
    public var endedAt: String?
    public var lastActivityAt: String
    public var durationSeconds: Int
    public var sentiment: Sentiment?
    public var resolution: Resolution?
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
    /// The UTC hour it counts on in the hourly analytics, `YYYY-MM-DDTHH`.
    public var hour: String { String(createdAt.prefix(13)) }
    /// Counted in analytics: ended and analysed.
    public var isCounted: Bool { status == .ended && sentiment != nil && resolution != nil }

    public init(
        id: String, orgId: String, assistantId: String? = nil, phoneNumberId: String? = nil,
        channel: ConversationChannel, type: String, status: ConversationStatus, endedReason: String? = nil,
        startedAt: String, endedAt: String? = nil, lastActivityAt: String, durationSeconds: Int,
        sentiment: Sentiment? = nil, resolution: Resolution? = nil, summary: String? = nil,
        successEvaluation: String? = nil, transcript: String? = nil, recordingUrl: String? = nil,
        stereoRecordingUrl: String? = nil, customerNumber: String? = nil, cost: Double? = nil,
        providerChatId: String? = nil, unanswered: Int, createdAt: String, updatedAt: String,
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

    /// A web chat as its first message opens it: in progress, nothing analysed yet.
    public static func webChat(id: String, orgId: String, assistantId: String, at stamp: String) -> ConversationRecord {
        ConversationRecord(
            id: id, orgId: orgId, assistantId: assistantId, channel: .web, type: "webChat", status: .inProgress,
            startedAt: stamp, lastActivityAt: stamp, durationSeconds: 0, unanswered: 0, createdAt: stamp, updatedAt: stamp)
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
    public var sentiment: Sentiment
    public var resolution: Resolution
    public var endedReason: String

    public init(
        summary: String, successEvaluation: String, sentiment: Sentiment, resolution: Resolution, endedReason: String
    ) {
        self.summary = summary
        self.successEvaluation = successEvaluation
        self.sentiment = sentiment
        self.resolution = resolution
        self.endedReason = endedReason
    }
}
