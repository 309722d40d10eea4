import EdmoCore
import Foundation

/// What a time series can be split by: a column of the conversations and of the aggregates.
public enum AnalyticsDimension: String, Sendable, CaseIterable {
    case channel, assistantId, phoneNumberId, resolution, sentiment

    /// The column's name in `conversations` and the aggregate tables (daily, hourly, retired).
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

/// UTC hours `YYYY-MM-DDTHH` (the first 13 characters of a timestamp), both included: what the hourly
/// aggregates are read over (the filter's days are not used); with `only`, just those hours (in the range).
public struct HourRange: Sendable, Equatable {
    public var from: String
    public var to: String
    public var only: [String]?
    /// Grouped by an assistant or number: the stored values to read (`-` for none), so that a store seeks
    /// each one's hours instead of scanning every assistant's. Set by the stores themselves.
    public var groupKeys: [String]?

    public init(from: String, to: String, only: [String]? = nil) {
        self.from = from
        self.to = to
        self.only = only
    }
}

/// One UTC day's counts (or one UTC hour's: `day` is then `YYYY-MM-DDTHH`) (for one value of the grouping: `key`, nil for "no assistant/number" or no grouping).
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
