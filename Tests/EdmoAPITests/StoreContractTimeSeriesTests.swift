import EdmoCore
import EdmoStore
import Foundation
import Testing

/// AnalyticsStore's daily counts (the time series' source) and the list filters of the reporting
/// operations (`toDay`, `search`), the same assertions on every store.
struct StoreContractTimeSeriesTests {
    static let day = 86_400

    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a", "asst_b", "asst_c"])
        try db.organization("org_b", assistants: ["asst_x"])
        return db
    }

    /// The counts per (day, key) of what the aggregates must count, computed here from the reports as
    /// written (removed conversations included: retention keeps their counts).
    static func expected(_ records: [ConversationRecord], _ f: AnalyticsFilter, _ groupBy: AnalyticsDimension?) -> [AnalyticsDailyCounts] {
        var out: [String: AnalyticsDailyCounts] = [:]
        for c in records {
            guard c.status == .ended, let sentiment = c.sentiment, let resolution = c.resolution else { continue }
            guard c.day >= f.fromDay, f.toDay.map({ c.day <= $0 }) ?? true, f.orgId.map({ $0 == c.orgId }) ?? true,
                  f.assistantId.map({ $0 == c.assistantId }) ?? true, f.phoneNumberId.map({ $0 == c.phoneNumberId }) ?? true,
                  f.channel.map({ $0 == c.channel }) ?? true, f.sentiment.map({ $0 == sentiment }) ?? true,
                  f.resolution.map({ $0 == resolution }) ?? true else { continue }
            let key: String? = switch groupBy {
            case nil: nil
            case .channel?: c.channel.rawValue
            case .assistantId?: c.assistantId
            case .phoneNumberId?: c.phoneNumberId
            case .resolution?: resolution.rawValue
            case .sentiment?: sentiment.rawValue
            }
            var counts = out[c.day + "|" + (key ?? "\u{0}")] ?? AnalyticsDailyCounts(day: c.day, key: key)
            counts.conversations += 1; counts.durationSeconds += c.durationSeconds
            switch resolution {
            case .resolved: counts.resolved += 1
            case .failed: counts.failed += 1
            case .escalated: counts.escalated += 1
            }
            out[c.day + "|" + (key ?? "\u{0}")] = counts
        }
        return sorted(Array(out.values))
    }

    static func sorted(_ rows: [AnalyticsDailyCounts]) -> [AnalyticsDailyCounts] {
        rows.sorted { ($0.day, $0.key ?? "") < ($1.day, $1.key ?? "") }
    }

    @Test(arguments: StoreKind.tested)
    func dailyCountsEqualARecountOverRandomReportsRemovalsAndRebuilds(_ kind: StoreKind) throws {
        let db = try database(kind)
        var random = FuzzTests.SplitMix(state: 15)
        var written: [String: ConversationRecord] = [:]
        let assistants: [String: [String?]] = ["org_a": ["asst_a", "asst_b", "asst_c", nil], "org_b": ["asst_x", nil]]
        let numbers: [String?] = ["pn_1", "pn_2", nil]
        for n in 0..<240 {
            // Some ids come again: a newer report replaces the call (another day, outcome...).
            let id = "call_\(Int.random(in: 0..<180, using: &random))"
            let org = written[id]?.orgId ?? (n % 5 == 0 ? "org_b" : "org_a")
            let record = db.call(
                id, org: org, assistant: assistants[org]!.randomElement(using: &random)!, number: numbers.randomElement(using: &random)!,
                second: Int.random(in: 0..<(40 * Self.day), using: &random),
                channel: ConversationChannel.allCases.randomElement(using: &random)!,
                sentiment: Int.random(in: 0..<10, using: &random) == 0 ? nil : Sentiment.allCases.randomElement(using: &random),
                resolution: Resolution.allCases.randomElement(using: &random), duration: Int.random(in: 0..<900, using: &random),
                reportedSecond: 1_000_000 + n, status: Int.random(in: 0..<12, using: &random) == 0 ? .inProgress : .ended)
            #expect(try db.analytics.upsertCall(record, messages: [chatMessage(.assistant, "Hello")]))
            written[id] = record
        }
        // Retention removes org_a's first ten days; their counts stay in the series.
        _ = try db.analytics.removeConversations(orgId: "org_a", createdBefore: t0.addingTimeInterval(TimeInterval(10 * Self.day)), limit: 1000)
        #expect(try db.analytics.conversation(orgId: nil, id: written.values.first { $0.orgId == "org_a" && $0.day < "2024-01-10" }!.id) == nil)

        let records = Array(written.values)
        var filters = analyticsFilters(
            orgs: [nil, "org_a", "org_b"], assistants: [nil, "asst_a", "asst_x"], numbers: [nil, "pn_2"], fromDays: ["2024-01-01", "2024-01-08"])
        for (i, _) in filters.enumerated() where i % 3 == 1 { filters[i].toDay = "2024-01-25" }
        filters += [
            AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-05", channel: .web, sentiment: .negative, toDay: "2024-01-30"),
            AnalyticsFilter(orgId: nil, fromDay: "2024-01-01", resolution: .escalated),
            AnalyticsFilter(orgId: "org_a", fromDay: "2024-02-20"),
        ]
        func check() throws {
            for filter in filters {
                for groupBy in [nil] + AnalyticsDimension.allCases {
                    let want = Self.expected(records, filter, groupBy)
                    #expect(Self.sorted(try db.analytics.dailyCounts(filter, groupBy: groupBy, recount: false)) == want, "\(filter) by \(String(describing: groupBy))")
                    #expect(Self.sorted(try db.analytics.dailyCounts(filter, groupBy: groupBy, recount: true)) == want, "\(filter) by \(String(describing: groupBy)), recount")
                }
            }
        }
        try check()
        #expect(Self.expected(records, filters[0], nil).count > 30)
        try db.analytics.rebuildAggregates()
        try check()
    }

    @Test(arguments: StoreKind.tested)
    func listsStopAtTheLastDayAndSearchSummariesIgnoringASCIICase(_ kind: StoreKind) throws {
        let db = try database(kind)
        let summaries = ["Asked about the LIBRARY hours", "library card renewal", "Élan: about enrolment", "50% off, _maybe_", nil]
        for (n, summary) in summaries.enumerated() {
            var call = db.call("call_\(n)", second: n * Self.day)
            call.summary = summary
            _ = try db.analytics.upsertCall(call, messages: [])
        }
        func ids(_ search: String?, to: String? = nil) throws -> [String] {
            try db.analytics.conversations(AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01", toDay: to, search: search), after: nil, limit: 10).map(\.id)
        }
        #expect(try ids(nil) == ["call_4", "call_3", "call_2", "call_1", "call_0"])
        #expect(try ids(nil, to: "2024-01-02") == ["call_1", "call_0"])
        #expect(try ids("library") == ["call_1", "call_0"])
        #expect(try ids("LiBrArY", to: "2024-01-01") == ["call_0"])
        // Only ASCII letters fold; LIKE's wildcards are plain text.
        #expect(try ids("élan").isEmpty)
        #expect(try ids("Élan") == ["call_2"])
        #expect(try ids("50%") == ["call_3"])
        #expect(try ids("_maybe_") == ["call_3"])
        #expect(try ids("%").count == 1)
        #expect(try db.analytics.conversations(AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01", search: "library"), limit: 10, offset: 1).map(\.id) == ["call_0"])
    }
}
