import EdmoCore
import Foundation

/// What a time series can be split by: a column of the conversations and of the aggregates.
public enum AnalyticsDimension: String, Sendable, CaseIterable {
    case channel, assistantId, phoneNumberId, resolution, sentiment

    /// The column's name in `conversations`, `analytics_daily` and `analytics_retired`.
    public var column: String {
        switch self {
        case .channel: "channel"
        case .assistantId: "assistant_id"
        case .phoneNumberId: "phone_number_id"
        case .resolution: "resolution"
        case .sentiment: "sentiment"
        }
    }

    /// Every value of a closed field, so a series exists for each even without conversations; nil for ids.
    public var closedValues: [String]? {
        switch self {
        case .channel: ConversationChannel.allCases.map(\.rawValue)
        case .resolution: Resolution.allCases.map(\.rawValue)
        case .sentiment: Sentiment.allCases.map(\.rawValue)
        case .assistantId, .phoneNumberId: nil
        }
    }
}

/// One UTC day's counts (for one value of the grouping: `key`, nil for "no assistant/number" or no grouping).
public struct AnalyticsDailyCounts: Sendable, Equatable {
    public var day: String
    public var key: String?
    public var conversations = 0
    public var resolved = 0
    public var failed = 0
    public var escalated = 0
    public var durationSeconds = 0

    public init(day: String, key: String?, conversations: Int = 0, resolved: Int = 0, failed: Int = 0, escalated: Int = 0, durationSeconds: Int = 0) {
        self.day = day; self.key = key; self.conversations = conversations; self.resolved = resolved
        self.failed = failed; self.escalated = escalated; self.durationSeconds = durationSeconds
    }
}
