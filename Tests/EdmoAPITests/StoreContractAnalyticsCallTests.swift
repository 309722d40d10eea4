import EdmoCore
import EdmoStore
import Foundation
import Synchronization
import Testing

/// AnalyticsStore's contract for provider call reports: idempotent by call id, a newer report replaces
/// the call, and concurrent reports (several hosts' webhooks) count each call once, on every store.
struct StoreContractAnalyticsCallTests {
    static let sentiments: [Sentiment] = [.positive, .neutral, .negative]

    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a"])
        try db.organization("org_b")
        return db
    }

    @Test(arguments: StoreKind.tested)
    func onlyANewerReportReplacesACallAndItsMessages(_ kind: StoreKind) throws {
        let db = try database(kind)
        let first = db.call("call_1", second: 0, duration: 60, reportedSecond: 100)
        #expect(try db.analytics.upsertCall(first, messages: [chatMessage(.assistant, "Hello"), chatMessage(.user, "Hi")]))
        #expect(try !db.analytics.upsertCall(first, messages: [chatMessage(.user, "replayed")]))
        #expect(try !db.analytics.upsertCall(db.call("call_1", second: 0, sentiment: .negative, reportedSecond: 99), messages: []))
        #expect(try db.analytics.conversation(orgId: "org_a", id: "call_1") == first)
        #expect(try db.chats.messages(conversationId: "call_1").map(\.content) == ["Hello", "Hi"])

        let newer = db.call("call_1", second: 0, sentiment: .negative, resolution: .escalated, duration: 90, reportedSecond: 101)
        #expect(try db.analytics.upsertCall(newer, messages: [chatMessage(.assistant, "Bye")]))
        #expect(try db.analytics.conversation(orgId: "org_a", id: "call_1") == newer)
        #expect(try db.chats.messages(conversationId: "call_1").map(\.content) == ["Bye"])
        var counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.negative, counts.escalated, counts.positive, counts.durationSeconds) == (1, 1, 1, 0, 90))

        // A report without a time always replaces; so does any report of a call stored without one.
        let untimed = db.call("call_1", second: 0, sentiment: .neutral, duration: 30)
        #expect(try db.analytics.upsertCall(untimed, messages: []))
        #expect(try db.analytics.upsertCall(db.call("call_1", second: 0, duration: 40, reportedSecond: 1), messages: []))
        counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.positive, counts.neutral, counts.durationSeconds) == (1, 1, 0, 40))
        #expect(try db.chats.messages(conversationId: "call_1").isEmpty)

        // A report that is not analysed leaves the analytics; the same call id in another organisation is refused.
        #expect(try db.analytics.upsertCall(db.call("call_1", second: 0, sentiment: nil, reportedSecond: 2), messages: []))
        #expect(try db.countsEqualToRecount().total == 0)
        #expect(throws: StoreError.conflict("This call id belongs to another organisation")) {
            try db.analytics.upsertCall(db.call("call_1", org: "org_b", assistant: nil, reportedSecond: 3), messages: [])
        }
    }

    /// Eight hosts' webhooks delivering one report at once: one of them writes it, and it is counted once.
    @Test(arguments: StoreKind.tested)
    func concurrentDeliveriesOfOneReportCountItOnce(_ kind: StoreKind) throws {
        let db = try database(kind)
        let report = db.call("call_1", number: "pn_1", second: 5, duration: 75, reportedSecond: 100)
        let changed = Mutex(0)
        let outcomes = Outcomes()
        try runThreads(8) {
            outcomes.record {
                if try db.analytics.upsertCall(report, messages: [chatMessage(.assistant, "Hello"), chatMessage(.user, "Hi")]) {
                    changed.withLock { $0 += 1 }
                }
            }
        }
        #expect(outcomes.all == ["ok": 8])
        #expect(changed.withLock { $0 } == 1)
        let counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.durationSeconds) == (1, 75))
        #expect(try db.analytics.counts(AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01", phoneNumberId: "pn_1")).total == 1)
        #expect(try db.chats.messages(conversationId: "call_1").map(\.content) == ["Hello", "Hi"])
    }

    /// Reports arriving together, one in four refused (a call id of another organisation): the refused ones
    /// fail alone, and every other is stored and counted once (on PostgreSQL a batch holding a refused
    /// report is rolled back and run again with each report in a savepoint).
    @Test(arguments: StoreKind.tested)
    func aRefusedReportFailsAloneAmongConcurrentOnes(_ kind: StoreKind) throws {
        let db = try database(kind)
        #expect(try db.analytics.upsertCall(db.call("taken", second: 0, duration: 5, reportedSecond: 1), messages: []))
        let outcomes = Outcomes()
        try runNumberedThreads(16) { n in
            for i in 0..<12 {
                outcomes.record {
                    if (n + i) % 4 == 0 {
                        _ = try db.analytics.upsertCall(db.call("taken", org: "org_b", assistant: nil, reportedSecond: 2), messages: [])
                    } else {
                        _ = try db.analytics.upsertCall(
                            db.call("c\(n)-\(i)", second: i, duration: 10, reportedSecond: 1), messages: [chatMessage(.user, "Hi \(n)-\(i)")])
                    }
                }
            }
        }
        #expect(outcomes.all == ["ok": 144, "\(StoreError.conflict("This call id belongs to another organisation"))": 48])
        let counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.durationSeconds) == (145, 5 + 144 * 10))
        #expect(try db.chats.messages(conversationId: "c3-7").map(\.content) == ["Hi 3-7"])
        #expect(try db.analytics.conversation(orgId: "org_a", id: "taken")?.durationSeconds == 5)
    }

    /// Reports of one call sent at different times, delivered at once in any order: the newest stays.
    @Test(arguments: StoreKind.tested)
    func concurrentReportsOfOneCallKeepTheNewest(_ kind: StoreKind) throws {
        let db = try database(kind)
        let outcomes = Outcomes()
        try runNumberedThreads(8) { n in
            let report = db.call("call_1", second: n * 3_600, sentiment: Self.sentiments[n % 3], duration: n, reportedSecond: n)
            outcomes.record { _ = try db.analytics.upsertCall(report, messages: [chatMessage(.assistant, "report \(n)")]) }
        }
        #expect(outcomes.all == ["ok": 8])
        let stored = try #require(try db.analytics.conversation(orgId: "org_a", id: "call_1"))
        #expect((stored.reportedAt, stored.durationSeconds, stored.sentiment) == (chatStamp(8), 8, Self.sentiments[8 % 3]))
        #expect(try db.chats.messages(conversationId: "call_1").map(\.content) == ["report 8"])
        let counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.durationSeconds) == (1, 8))
    }

    /// Many calls of one day reported and re-reported at once, changing their outcome both ways: every
    /// report shares the day's rows, and none is lost or deadlocked.
    @Test(arguments: StoreKind.tested)
    func concurrentReportsOfManyCallsAreAllCounted(_ kind: StoreKind) throws {
        let db = try database(kind)
        let outcomes = Outcomes()
        try runNumberedThreads(8) { n in
            for k in 0..<12 {
                let report = db.call(
                    "call_\(k)", number: "pn_\(k % 2)", second: k, sentiment: Self.sentiments[(n + k) % 3], duration: n + k,
                    reportedSecond: n)
                outcomes.record { _ = try db.analytics.upsertCall(report, messages: []) }
            }
        }
        #expect(outcomes.all == ["ok": 96])
        let counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.durationSeconds) == (12, (0..<12).map { 8 + $0 }.reduce(0, +)))
        for number in ["pn_0", "pn_1"] {
            let filter = AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01", phoneNumberId: number)
            #expect(try db.analytics.counts(filter) == db.analytics.recount(filter))
        }
    }
}
