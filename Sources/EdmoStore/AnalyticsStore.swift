import EdmoCore
import Foundation

/// The filters of `GET /api/analytics`; nil means all.
public struct AnalyticsFilter: Sendable, Equatable {
    /// nil: the whole deployment (the ANALYTICS_API_KEY key).
    public var orgId: String?
    /// First day counted, `YYYY-MM-DD` (UTC).
    public var fromDay: String
    public var channel: ConversationChannel?
    public var sentiment: Sentiment?
    public var resolution: Resolution?
    public var assistantId: String?
    public var phoneNumberId: String?
    /// Last day counted, `YYYY-MM-DD` (UTC), inclusive; nil: no end.
    public var toDay: String?
    /// Conversations whose summary contains this text, ASCII letters in any case (the same on both stores,
    /// whatever their collations); lists only, the aggregates know no summaries.
    public var search: String?

    public init(orgId: String?, fromDay: String, channel: ConversationChannel? = nil, sentiment: Sentiment? = nil,
                resolution: Resolution? = nil, assistantId: String? = nil, phoneNumberId: String? = nil,
                toDay: String? = nil, search: String? = nil) {
        self.orgId = orgId; self.fromDay = fromDay; self.channel = channel; self.sentiment = sentiment
        self.resolution = resolution; self.assistantId = assistantId; self.phoneNumberId = phoneNumberId
        self.toDay = toDay; self.search = search
    }

    /// `search` with its ASCII capitals lowered: what the stores look for in the summary lowered alike.
    public var searchNeedle: String? {
        search.map { String(decoding: $0.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self) }
    }
}

/// Where a page of conversations (newest first) ended: the last row's creation time and id.
public struct ConversationCursor: Sendable, Equatable {
    public var createdAt: String
    public var id: String

    public init(createdAt: String, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    public init(after record: ConversationRecord) {
        self.init(createdAt: record.createdAt, id: record.id)
    }
}

public struct AnalyticsCounts: Sendable, Equatable {
    public var total = 0
    public var resolved = 0
    public var escalated = 0
    public var failed = 0
    public var durationSeconds = 0
    public var web = 0
    public var phone = 0
    public var positive = 0
    public var neutral = 0
    public var negative = 0
    public init() {}
}

public struct AnalyticsKey: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var name: String?
    public var prefix: String
    public var createdAt: String
    public var revokedAt: String?

    public init(
        id: String, orgId: String, name: String? = nil, prefix: String, createdAt: String, revokedAt: String? = nil
    ) {
        self.id = id
        self.orgId = orgId
        self.name = name
        self.prefix = prefix
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// Analytics reads, per-org API keys, and provider call ingestion.
public protocol AnalyticsStore: Sendable {
    /// From the daily aggregates: cost grows with days and filter values, not with conversations.
    func counts(_ filter: AnalyticsFilter) throws -> AnalyticsCounts
    /// The same numbers by reading every matching conversation, plus the counts of those removed
    /// (`analytics_retired`): the reference the aggregates must equal.
    func recount(_ filter: AnalyticsFilter) throws -> AnalyticsCounts
    /// Analysed conversations matching the filter, newest first.
    func conversations(_ filter: AnalyticsFilter, limit: Int, offset: Int) throws -> [ConversationRecord]
    /// The same order, the page after `cursor` (keyset paging): an export reads every row in pages, each its
    /// own short read, without an offset that grows with the export or a read held open while it is sent.
    func conversations(_ filter: AnalyticsFilter, after cursor: ConversationCursor?, limit: Int) throws -> [ConversationRecord]
    func conversation(orgId: String?, id: String) throws -> ConversationRecord?
    /// Pending knowledge gaps (all, and high priority).
    func gapCounts(orgId: String?, assistantId: String?) throws -> (total: Int, high: Int)
    /// Recomputes every aggregate from the conversations and the removed ones' counts (`edmo analytics rebuild`).
    func rebuildAggregates() throws
    /// Counts per UTC day in `fromDay...toDay` (and per value of `groupBy`), only the days with some: from
    /// the aggregates (cost grows with days and values, not conversations), or with `recount`, by reading
    /// the conversations and `analytics_retired`, the reference the aggregates must equal.
    func dailyCounts(_ filter: AnalyticsFilter, groupBy: AnalyticsDimension?, recount: Bool) throws -> [AnalyticsDailyCounts]
    /// The same per UTC hour (`day` is `YYYY-MM-DDTHH`) over `hours` instead of the filter's days, from
    /// `analytics_hourly`, or with `recount`, from the conversations' `created_at` and `analytics_retired_hourly`.
    func hourlyCounts(_ filter: AnalyticsFilter, hours: HourRange, groupBy: AnalyticsDimension?, recount: Bool) throws -> [AnalyticsDailyCounts]
    /// The aggregates' `dailyCounts` (the filter's days) and `hourlyCounts` (`hours`) read in one snapshot, so
    /// that some hours can be moved out of their days: what a time series in a zone reads.
    func dailyAndHourlyCounts(_ filter: AnalyticsFilter, hours: HourRange, groupBy: AnalyticsDimension?) throws
        -> (days: [AnalyticsDailyCounts], hours: [AnalyticsDailyCounts])

    func createKey(_ key: AnalyticsKey, hash: String) throws
    func keys(orgId: String) throws -> [AnalyticsKey]
    func key(hash: String) throws -> AnalyticsKey?
    func revokeKey(orgId: String, id: String, now: Date) throws

    /// Creates or replaces a provider call's conversation (and its aggregates) unless the stored one was
    /// reported at the same time or later, or `erasedKey` (the hash of the call's id, see `erase`) marks it
    /// erased. Returns whether anything changed.
    /// `event` is written in the same transaction, only when something changed.
    func upsertCall(_ record: ConversationRecord, messages: [ConversationMessage], erasedKey: String?, event: OutboxEvent?) throws -> Bool
    func importCursor(_ name: String) throws -> String?
    func setImportCursor(_ name: String, _ cursor: String) throws

    /// Retention: removes up to `limit` conversations of the organisation created before `cutoff` (oldest
    /// first), with their messages, in one transaction that adds their counts to `analytics_retired` (and
    /// `analytics_retired_hourly`), so the aggregates are unchanged and still equal a recount. Conversations
    /// another host is removing are skipped. Fewer than `limit` removed means none is left.
    func removeConversations(orgId: String, createdBefore cutoff: Date, limit: Int) throws -> RemovedCounts
    /// Erasure: removes every conversation of the organisation that `selector` names, with its messages, in
    /// one transaction that adds their counts to `analytics_retired` and records `erasedKey(id)` for each, so
    /// a later report of that call is dropped (`upsertCall`).
    func erase(orgId: String, _ selector: ErasureSelector, erasedKey: (String) -> String, now: Date) throws -> RemovedCounts
}

extension AnalyticsStore {
    public func upsertCall(_ record: ConversationRecord, messages: [ConversationMessage], erasedKey: String?) throws -> Bool {
        try upsertCall(record, messages: messages, erasedKey: erasedKey, event: nil)
    }
}
