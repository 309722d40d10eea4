@testable import EdmoAPI
import EdmoCore
import EdmoStore
import Foundation
import Testing

/// The hourly aggregates and the time series in a zone (`tz`), on every store: equal to a recount of the
/// reports, hour by hour and local day by local day, across DST changes, retention and rebuilds.
struct StoreContractHourlyTests {
    static let hour = 3_600, day = 86_400

    /// UTC days (seconds after t0 at their 00:00) with a change of offset in one of `zones`, in 2024.
    static let changes = ["2024-03-10", "2024-03-31", "2024-04-07", "2024-09-08", "2024-10-06", "2024-10-27", "2024-11-03"]
        .map { CivilDay.parse($0)! * day - Int(t0.timeIntervalSince1970) }
    static let zones = ["America/New_York", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "Asia/Kolkata",
                        "Asia/Kathmandu", "UTC"]

    /// Reports in two organisations: half spread over 2024 to November, half within 36 hours of a change.
    static func written(_ db: ChatContractDatabase, seed: UInt64, count: Int) throws -> [String: ConversationRecord] {
        var random = FuzzTests.SplitMix(state: seed)
        var written: [String: ConversationRecord] = [:]
        let assistants: [String: [String?]] = ["org_a": ["asst_a", "asst_b", nil], "org_b": ["asst_x", nil]]
        let numbers: [String?] = ["pn_1", "pn_2", nil]
        for n in 0..<count {
            // Some ids come again: a newer report replaces the call (another hour, outcome...).
            let id = "call_\(Int.random(in: 0..<(count * 3 / 4), using: &random))"
            let org = written[id]?.orgId ?? (n % 5 == 0 ? "org_b" : "org_a")
            let second = n % 2 == 0
                ? Int.random(in: 0..<(330 * day), using: &random)
                : changes.randomElement(using: &random)! + Int.random(in: (-36 * hour)..<(36 * hour), using: &random)
            let record = db.call(
                id, org: org, assistant: assistants[org]!.randomElement(using: &random)!, number: numbers.randomElement(using: &random)!,
                second: second, channel: ConversationChannel.allCases.randomElement(using: &random)!,
                sentiment: Int.random(in: 0..<10, using: &random) == 0 ? nil : Sentiment.allCases.randomElement(using: &random),
                resolution: Resolution.allCases.randomElement(using: &random), duration: Int.random(in: 0..<900, using: &random),
                reportedSecond: 40_000_000 + n, status: Int.random(in: 0..<12, using: &random) == 0 ? .inProgress : .ended)
            #expect(try db.analytics.upsertCall(record, messages: [chatMessage(.assistant, "Hello")]))
            written[id] = record
        }
        return written
    }

    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a", "asst_b"])
        try db.organization("org_b", assistants: ["asst_x"])
        return db
    }

    static func matches(_ c: ConversationRecord, _ f: AnalyticsFilter) -> Bool {
        guard c.isCounted else { return false }
        return f.orgId.map { $0 == c.orgId } ?? true && f.assistantId.map { $0 == c.assistantId } ?? true
            && f.phoneNumberId.map { $0 == c.phoneNumberId } ?? true && f.channel.map { $0 == c.channel } ?? true
            && f.sentiment.map { $0 == c.sentiment } ?? true && f.resolution.map { $0 == c.resolution } ?? true
    }

    static func key(_ c: ConversationRecord, _ groupBy: AnalyticsDimension?) -> String? {
        switch groupBy {
        case nil: nil
        case .channel?: c.channel.rawValue
        case .assistantId?: c.assistantId
        case .phoneNumberId?: c.phoneNumberId
        case .resolution?: c.resolution!.rawValue
        case .sentiment?: c.sentiment!.rawValue
        }
    }

    /// The counts per (UTC hour, key) computed here from the reports as written.
    static func expectedHours(_ records: [ConversationRecord], _ f: AnalyticsFilter, hours: HourRange, _ groupBy: AnalyticsDimension?) -> [AnalyticsDailyCounts] {
        var out: [String: AnalyticsDailyCounts] = [:]
        for c in records where matches(c, f) && c.hour >= hours.from && c.hour <= hours.to {
            let key = Self.key(c, groupBy), slot = c.hour + "|" + (key ?? "\u{0}")
            var counts = out[slot] ?? AnalyticsDailyCounts(day: c.hour, key: key)
            counts.add(c)
            out[slot] = counts
        }
        return StoreContractTimeSeriesTests.sorted(Array(out.values))
    }

    @Test(arguments: StoreKind.tested)
    func hourlyCountsEqualARecountOverRandomReportsRemovalsAndRebuilds(_ kind: StoreKind) throws {
        let db = try database(kind)
        let records = Array(try Self.written(db, seed: 9, count: 260).values)
        // Retention removes org_a's first 100 days; their counts stay, at their hours.
        let removed = try db.analytics.removeConversations(orgId: "org_a", createdBefore: t0.addingTimeInterval(TimeInterval(100 * Self.day)), limit: 1000)
        #expect(removed.conversations > 10)
        #expect(try db.rows("analytics_retired_hourly") > 10)
        var filters = analyticsFilters(orgs: [nil, "org_a", "org_b"], assistants: [nil, "asst_a"], numbers: [nil, "pn_2"], fromDays: ["2024-01-01"])
        filters.append(AnalyticsFilter(orgId: "org_a", fromDay: "", channel: .web, sentiment: .negative))
        let ranges = [HourRange(from: "2024-01-01T00", to: "2024-12-31T23"), HourRange(from: "2024-03-09T05", to: "2024-03-11T04"),
                      HourRange(from: "2024-10-27T01", to: "2024-10-27T01")]
        func check() throws {
            for filter in filters { for hours in ranges { for groupBy in [nil] + AnalyticsDimension.allCases {
                let want = Self.expectedHours(records, filter, hours: hours, groupBy)
                #expect(StoreContractTimeSeriesTests.sorted(try db.analytics.hourlyCounts(filter, hours: hours, groupBy: groupBy, recount: false)) == want,
                        "\(filter) \(hours) by \(String(describing: groupBy))")
                #expect(StoreContractTimeSeriesTests.sorted(try db.analytics.hourlyCounts(filter, hours: hours, groupBy: groupBy, recount: true)) == want,
                        "\(filter) \(hours) by \(String(describing: groupBy)), recount")
            } } }
        }
        try check()
        #expect(Self.expectedHours(records, filters[0], hours: ranges[0], nil).count > 100)
        try db.analytics.rebuildAggregates()
        try check()
    }

    /// Chats count when they end, leave the counts when a new turn reopens them, count again (with their new
    /// outcome) when they end again, and go on counting once erased: hour by hour, as the recount.
    @Test(arguments: StoreKind.tested)
    func chatsEndingReopeningAndErasedKeepTheHoursEqualToTheRecount(_ kind: StoreKind) throws {
        let db = try database(kind)
        var random = FuzzTests.SplitMix(state: 5)
        for n in 0..<30 {
            let second = Self.changes[n % Self.changes.count] + Int.random(in: (-20 * Self.hour)..<(20 * Self.hour), using: &random)
            let chat = try db.chat("chat_\(n)", second: second)
            try db.chats.endConversation(id: chat.id, outcome: chatOutcome(.neutral, .failed), now: t0.addingTimeInterval(Double(second + 60)))
            if n % 3 == 0 {
                try db.chats.appendMessages(conversationId: chat.id, [chatMessage(.user, "Again?", second: second + 120)],
                                            now: t0.addingTimeInterval(Double(second + 120)), cost: nil, unanswered: 0, providerChatId: nil)
            }
            if n % 6 == 0 {
                try db.chats.endConversation(id: chat.id, outcome: chatOutcome(.positive, .resolved), now: t0.addingTimeInterval(Double(second + 180)))
            }
        }
        _ = try db.analytics.erase(orgId: "org_a", .conversationId("chat_6"), erasedKey: { "erased-" + $0 }, now: t0)
        let all = AnalyticsFilter(orgId: nil, fromDay: ""), hours = HourRange(from: "2024-01-01T00", to: "2024-12-31T23")
        func check() throws {
            for groupBy in [nil, AnalyticsDimension.resolution, .channel] {
                let aggregates = try db.analytics.hourlyCounts(all, hours: hours, groupBy: groupBy, recount: false)
                #expect(aggregates == (try db.analytics.hourlyCounts(all, hours: hours, groupBy: groupBy, recount: true)), "\(String(describing: groupBy))")
            }
            let byOutcome = try db.analytics.hourlyCounts(all, hours: hours, groupBy: .resolution, recount: false)
            // 30 chats: 10 reopened, 5 of those ended again (resolved), the other 5 still open.
            #expect(byOutcome.reduce(0) { $0 + $1.conversations } == 25)
            #expect(byOutcome.filter { $0.key == "resolved" }.reduce(0) { $0 + $1.conversations } == 5)
        }
        try check()
        try db.analytics.rebuildAggregates()
        try check()
    }

    /// The local date of a UTC second by Foundation's calendar in `zone`.
    static func localDay(_ t: Int, _ calendar: Calendar) -> Int {
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(t)))
        return CivilDay.days(parts.year!, parts.month!, parts.day!)
    }

    /// `YYYY-MM-DDTHH:MM:SS` then `Z` or `±HH:MM`, as UTC seconds.
    static func instant(_ iso: String) -> Int {
        let b = Array(iso.utf8)
        func n(_ at: Int) -> Int { Int(b[at] - 48) * 10 + Int(b[at + 1] - 48) }
        let local = CivilDay.parse(String(iso.prefix(10)))! * day + n(11) * hour + n(14) * 60 + n(17)
        guard b.count == 25 else { return local }
        return local - (b[19] == UInt8(ascii: "-") ? -1 : 1) * (n(20) * hour + n(23) * 60)
    }

    /// The points each series should have, counted here: a conversation counts on the local date that its UTC
    /// hour ends in (its own date in a whole-hour zone; in a half-hour zone, the next one in the last 30
    /// minutes before local midnight), and by hour in its UTC hour. Steps begin where Foundation's calendar
    /// starts their first day, at the start of that UTC hour.
    static func expectedPoints(
        _ records: [ConversationRecord], _ f: AnalyticsFilter, _ points: [TimeSeriesRoutes.Point], step: TimeSeriesRoutes.Step,
        groupBy: AnalyticsDimension?, localDays: [String: Int]
    ) -> [String?: [AnalyticsDailyCounts]] {
        var out: [String?: [AnalyticsDailyCounts]] = [:]
        let starts = points.map { step == .hour ? instant($0.startsAt!) : CivilDay.parse($0.start)! }
        let ends = points.map { CivilDay.parse($0.end)! }
        for c in records where matches(c, f) {
            let created = Int(Timestamp.parse(c.createdAt)!.timeIntervalSince1970)
            let hour = ZonedSteps.floorHour(created)
            let index: Int?
            if step == .hour {
                index = starts.firstIndex(of: hour)
            } else {
                let day = localDays[c.id]!
                index = starts.indices.first { starts[$0] <= day && day <= ends[$0] }
            }
            guard let index else { continue }
            let key = Self.key(c, groupBy)
            var series = out[key] ?? points.map { AnalyticsDailyCounts(day: $0.start, key: key) }
            series[index].add(c)
            out[key] = series
        }
        return out
    }

    @Test(arguments: StoreKind.tested)
    func zonedSeriesEqualARecountInTheZoneAcrossDSTChanges(_ kind: StoreKind) throws {
        let db = try database(kind)
        let records = Array(try Self.written(db, seed: 21, count: 400).values)
        _ = try db.analytics.removeConversations(orgId: "org_a", createdBefore: t0.addingTimeInterval(TimeInterval(80 * Self.day)), limit: 1000)
        let filters = [AnalyticsFilter(orgId: nil, fromDay: ""), AnalyticsFilter(orgId: "org_a", fromDay: "", channel: .phone, assistantId: "asst_a")]
        let whole = (CivilDay.parse("2024-01-01")!, CivilDay.parse("2024-11-30")!)
        // Hours: three local days around each change.
        let hourWindows = Self.changes.map { second in
            let day = (Int(t0.timeIntervalSince1970) + second) / Self.day
            return (day - 1, day + 1)
        }
        func check() throws {
            for name in Self.zones {
                let zone = TimeZone(identifier: name)!
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = zone
                // The local date each conversation's UTC hour ends in.
                let localDays = Dictionary(uniqueKeysWithValues: records.map { c in
                    (c.id, Self.localDay(ZonedSteps.floorHour(Int(Timestamp.parse(c.createdAt)!.timeIntervalSince1970)) + Self.hour - 1, calendar))
                })
                for filter in filters { for groupBy in [nil, AnalyticsDimension.resolution, .assistantId] {
                    let runs = [(TimeSeriesRoutes.Step.day, whole), (.week, whole), (.month, whole)] + hourWindows.map { (.hour, $0) }
                    for (step, window) in runs {
                        let (steps, series) = try TimeSeriesRoutes.series(
                            db.analytics, filter, from: window.0, to: window.1, step: step, groupBy: groupBy, zone: zone)
                        // No series: grouped by assistant, nothing in the window (the ungrouped run checks it is so).
                        guard let points = series.first?.points else { continue }
                        let label = "\(name) \(step) \(CivilDay.format(window.0)) \(filter) by \(String(describing: groupBy))"
                        // The boundaries are Foundation's local midnights, at the start of their UTC hour.
                        for (p, s) in zip(points, steps.steps) where step != .hour {
                            let (y, m, d) = CivilDay.civil(CivilDay.parse(p.start)!)
                            let midnight = calendar.startOfDay(for: calendar.date(from: DateComponents(year: y, month: m, day: d, hour: 12))!)
                            #expect(Self.instant(p.startsAt!) == ZonedSteps.floorHour(Int(midnight.timeIntervalSince1970)), "\(label) \(p.start)")
                            #expect(s.from == Self.instant(p.startsAt!) && s.to == Self.instant(p.endsAt!))
                        }
                        for (a, b) in zip(points, points.dropFirst()) { #expect(a.endsAt == b.startsAt, "\(label)") }
                        let want = Self.expectedPoints(records, filter, points, step: step, groupBy: groupBy, localDays: localDays)
                        for s in series {
                            let got = s.points.map { p in
                                AnalyticsDailyCounts(day: p.start, key: s.key, conversations: p.conversations, resolved: p.successful,
                                                     failed: p.failed, escalated: p.escalated, durationSeconds: p.totalDurationSeconds)
                            }
                            let zeros = points.map { AnalyticsDailyCounts(day: $0.start, key: s.key) }
                            #expect(got == (want[s.key] ?? zeros), "\(label) key \(s.key ?? "none")")
                        }
                        #expect(Set(want.keys).isSubset(of: Set(series.map(\.key))), "\(label)")
                    }
                } }
            }
        }
        try check()
        #expect(records.filter(\.isCounted).count > 150)
        try db.analytics.rebuildAggregates()
        try check()
    }

    /// Migration 0009 fills the hourly tables from what is there: a database at 0008 (the tables dropped and
    /// the migration run again) gets hourly aggregates equal to its recount, and removed conversations, of
    /// which only the day was kept, count at 12:00 UTC of it.
    @Test(arguments: StoreKind.tested)
    func theMigrationBackfillsTheHourlyAggregates(_ kind: StoreKind) throws {
        let db = try database(kind)
        let records = Array(try Self.written(db, seed: 33, count: 120).values)
        _ = try db.analytics.removeConversations(orgId: "org_a", createdBefore: t0.addingTimeInterval(TimeInterval(100 * Self.day)), limit: 1000)
        let folder = kind == .sqlite ? migrationsPath : postgresMigrationsPath
        let sql = try String(contentsOfFile: folder + "/0009_hourly_analytics.sql", encoding: .utf8)
        try db.execute("DROP TABLE analytics_hourly; DROP TABLE analytics_retired_hourly")
        try db.execute(sql)

        let all = AnalyticsFilter(orgId: nil, fromDay: ""), hours = HourRange(from: "2024-01-01T00", to: "2024-12-31T23")
        for groupBy in [nil] + AnalyticsDimension.allCases {
            let aggregates = try db.analytics.hourlyCounts(all, hours: hours, groupBy: groupBy, recount: false)
            #expect(aggregates == (try db.analytics.hourlyCounts(all, hours: hours, groupBy: groupBy, recount: true)))
            // Summed per day, the hours are the daily aggregates.
            var days: [String: AnalyticsDailyCounts] = [:]
            for row in aggregates {
                let day = String(row.day.prefix(10)), slot = day + "|" + (row.key ?? "\u{0}")
                var sum = days[slot] ?? AnalyticsDailyCounts(day: day, key: row.key)
                sum.conversations += row.conversations; sum.resolved += row.resolved; sum.failed += row.failed
                sum.escalated += row.escalated; sum.durationSeconds += row.durationSeconds
                days[slot] = sum
            }
            #expect(StoreContractTimeSeriesTests.sorted(Array(days.values)) == (try db.analytics.dailyCounts(all, groupBy: groupBy, recount: false)))
        }
        // The stored conversations at their own hour; the removed ones at noon of their day.
        let kept = records.filter { $0.isCounted && ($0.orgId == "org_b" || $0.createdAt >= chatStamp(100 * Self.day)) }
        let gone = records.filter { $0.isCounted && !($0.orgId == "org_b" || $0.createdAt >= chatStamp(100 * Self.day)) }
        #expect(!gone.isEmpty)
        var moved = kept
        for var c in gone { c.createdAt = c.day + "T12:00:00.000Z"; moved.append(c) }
        #expect(StoreContractTimeSeriesTests.sorted(try db.analytics.hourlyCounts(all, hours: hours, groupBy: .channel, recount: false))
                == Self.expectedHours(moved, all, hours: hours, .channel))
    }
}

extension AnalyticsDailyCounts {
    mutating func add(_ c: ConversationRecord) {
        conversations += 1; durationSeconds += c.durationSeconds
        switch c.resolution! {
        case .resolved: resolved += 1
        case .failed: failed += 1
        case .escalated: escalated += 1
        }
    }
}
