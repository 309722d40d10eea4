import EdmoCore
import EdmoStore
import Foundation
import Testing

/// AnalyticsStore's contract for the reads (aggregates, recount, conversations and their keyset paging),
/// the rebuild, analytics keys and import cursors, the same assertions on every store.
struct StoreContractAnalyticsTests {
    static let day = 86_400

    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a", "asst_b"])
        try db.organization("org_b", assistants: ["asst_x"])
        return db
    }

    /// Chats (ended, ended twice, reopened, open) and calls (new, replayed, older, newer, not analysed) over
    /// three days and two organisations.
    func fillWithAMix(_ db: ChatContractDatabase) throws {
        try db.chat("chat_1", assistant: "asst_a", second: 10)
        try db.chats.endConversation(id: "chat_1", outcome: chatOutcome(.positive, .resolved), now: t0.addingTimeInterval(700))
        try db.chat("chat_2", assistant: "asst_b", second: 20)
        try db.chats.endConversation(id: "chat_2", outcome: chatOutcome(.negative, .failed), now: t0.addingTimeInterval(700))
        try db.chats.appendMessages(conversationId: "chat_2", [chatMessage(.user, "again")], now: t0.addingTimeInterval(800), cost: nil, unanswered: 0, providerChatId: nil)
        try db.chat("chat_3", assistant: "asst_a", second: Self.day + 5)
        try db.chats.endConversation(id: "chat_3", outcome: chatOutcome(.neutral, .resolved), now: t0.addingTimeInterval(Double(Self.day + 700)))
        try db.chats.endConversation(id: "chat_3", outcome: chatOutcome(.neutral, .escalated), now: t0.addingTimeInterval(Double(Self.day + 800)))
        try db.chat("chat_4", org: "org_b", assistant: "asst_x", second: 30)

        let calls = [
            db.call("call_1", number: "pn_1", second: 100, duration: 90, reportedSecond: 200),
            db.call("call_2", assistant: "asst_b", number: "pn_1", second: Self.day + 100, sentiment: .negative, resolution: .escalated, duration: 120, reportedSecond: 300),
            db.call("call_3", assistant: nil, number: "pn_2", second: 200, channel: .web, sentiment: .neutral, resolution: .failed, reportedSecond: 300),
            db.call("call_4", org: "org_b", assistant: "asst_x", second: 2 * Self.day, duration: 30),
            db.call("call_5", number: "pn_2", second: 300, sentiment: nil, resolution: nil, reportedSecond: 400),
            db.call("call_6", second: 400, status: .inProgress),
        ]
        for call in calls { #expect(try db.analytics.upsertCall(call, messages: [chatMessage(.assistant, "Hello")])) }
        // Chats last no time (one message); a replayed or older report changes nothing; newer ones replace the call (another day, another outcome).
        #expect(try !db.analytics.upsertCall(calls[0], messages: []))
        #expect(try !db.analytics.upsertCall(db.call("call_2", second: 0, sentiment: .positive, reportedSecond: 250), messages: []))
        #expect(try db.analytics.upsertCall(
            db.call("call_3", assistant: "asst_a", number: "pn_2", second: 2 * Self.day + 50, sentiment: .positive, duration: 45, reportedSecond: 500), messages: []))
        #expect(try db.analytics.upsertCall(db.call("call_5", number: "pn_2", second: 300, sentiment: .negative, resolution: .failed, reportedSecond: 500), messages: []))
    }

    func allFilters() -> [AnalyticsFilter] {
        analyticsFilters(
            orgs: [nil, "org_a", "org_b"], assistants: [nil, "asst_a", "asst_b"], numbers: [nil, "pn_1", "pn_2"],
            fromDays: ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"])
    }

    @Test(arguments: StoreKind.tested)
    func aggregatesEqualTheRecountAndTheRebuildAfterAMixOfWrites(_ kind: StoreKind) throws {
        let db = try database(kind)
        try fillWithAMix(db)
        let filters = allFilters()
        let before = try filters.map { try db.analytics.counts($0) }
        #expect(try before == filters.map { try db.analytics.recount($0) })

        let all = before[0]
        #expect((all.total, all.durationSeconds, all.web, all.phone) == (7, 90 + 120 + 45 + 30 + 60, 2, 5))
        #expect((all.positive, all.neutral, all.negative, all.resolved, all.escalated, all.failed) == (4, 1, 2, 4, 2, 1))
        let orgA = try db.analytics.counts(AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-02", assistantId: "asst_a"))
        #expect((orgA.total, orgA.durationSeconds) == (2, 45))
        #expect(try db.analytics.counts(AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01", phoneNumberId: "pn_2")).total == 2)

        try db.analytics.rebuildAggregates()
        #expect(try filters.map { try db.analytics.counts($0) } == before)
    }

    @Test(arguments: StoreKind.tested)
    func conversationsPageNewestFirstAndTheKeysetReadsEachOnce(_ kind: StoreKind) throws {
        let db = try database(kind)
        // Several calls per second, so pages end inside a run of equal creation times.
        for n in 0..<14 {
            let call = db.call(
                "call_\(String(n, radix: 16))", assistant: n % 3 == 0 ? "asst_b" : "asst_a", second: n / 3,
                channel: n % 2 == 0 ? .phone : .web, sentiment: n % 4 == 0 ? .negative : .positive, reportedSecond: 1000)
            _ = try db.analytics.upsertCall(call, messages: [])
        }
        _ = try db.analytics.upsertCall(db.call("call_open", second: 2, status: .inProgress), messages: [])
        _ = try db.analytics.upsertCall(db.call("call_org_b", org: "org_b", assistant: "asst_x", second: 2), messages: [])

        for filter in [AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01"), AnalyticsFilter(orgId: nil, fromDay: "2024-01-01"),
                       AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01", channel: .web, sentiment: .positive),
                       AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01", assistantId: "asst_b")] {
            let all = try db.analytics.conversations(filter, limit: 100, offset: 0)
            #expect(all.count == (try db.analytics.recount(filter).total))
            #expect(all.map { [$0.createdAt, $0.id] } == all.map { [$0.createdAt, $0.id] }.sorted { $0.lexicographicallyPrecedes($1) }.reversed().map { $0 })
            #expect(try db.analytics.conversations(filter, limit: 3, offset: 2).map(\.id) == Array(all.dropFirst(2).prefix(3)).map(\.id))
            for size in 1...5 {
                var read: [String] = [], cursor: ConversationCursor? = nil
                while true {
                    let page = try db.analytics.conversations(filter, after: cursor, limit: size)
                    read += page.map(\.id)
                    guard let last = page.last, page.count == size else { break }
                    cursor = ConversationCursor(after: last)
                }
                #expect(read == all.map(\.id), "pages of \(size)")
            }
        }
        #expect(try db.analytics.conversations(AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-02"), limit: 10, offset: 0).isEmpty)
    }

    @Test(arguments: StoreKind.tested)
    func aConversationReadsBackAsWrittenInItsOrganization(_ kind: StoreKind) throws {
        let db = try database(kind)
        var call = db.call("call_1", number: "pn_1", second: 5, reportedSecond: 9)
        (call.recordingUrl, call.stereoRecordingUrl, call.customerNumber, call.successEvaluation, call.cost, call.unanswered) =
            ("https://rec/1.wav", "https://rec/1-stereo.wav", "+15550100", "true", 0.1 + 0.2, 3)
        call.providerChatId = "pc_1"
        _ = try db.analytics.upsertCall(call, messages: [])
        #expect(try db.analytics.conversation(orgId: nil, id: "call_1") == call)
        #expect(try db.analytics.conversation(orgId: "org_a", id: "call_1") == call)
        #expect(try db.chats.conversation(orgId: "org_a", id: "call_1") == call)
        #expect(try db.analytics.conversation(orgId: "org_b", id: "call_1") == nil)
        #expect(try db.analytics.conversation(orgId: nil, id: "call_none") == nil)
    }

    @Test(arguments: StoreKind.tested)
    func keysAreListedFoundByHashAndRevokedOnce(_ kind: StoreKind) throws {
        let db = try database(kind)
        let keys = [
            AnalyticsKey(id: "key_1", orgId: "org_a", name: "BI", prefix: "edmo_an_1", createdAt: chatStamp(1)),
            AnalyticsKey(id: "key_2", orgId: "org_a", prefix: "edmo_an_2", createdAt: chatStamp(2)),
            AnalyticsKey(id: "key_3", orgId: "org_a", prefix: "edmo_an_3", createdAt: chatStamp(2)),
            AnalyticsKey(id: "key_9", orgId: "org_b", prefix: "edmo_an_9", createdAt: chatStamp(3)),
        ]
        for key in keys { try db.analytics.createKey(key, hash: "hash-\(key.id)") }
        #expect(throws: (any Error).self) { try db.analytics.createKey(AnalyticsKey(id: "key_4", orgId: "org_a", prefix: "p", createdAt: chatStamp(4)), hash: "hash-key_1") }
        #expect(try db.analytics.keys(orgId: "org_a").map(\.id) == ["key_3", "key_2", "key_1"])
        #expect(try db.analytics.key(hash: "hash-key_1") == keys[0])
        #expect(try db.analytics.key(hash: "nope") == nil)

        try db.analytics.revokeKey(orgId: "org_a", id: "key_1", now: t0.addingTimeInterval(10))
        try db.analytics.revokeKey(orgId: "org_a", id: "key_1", now: t0.addingTimeInterval(20))
        #expect(try db.analytics.key(hash: "hash-key_1")?.revokedAt == chatStamp(10))
        #expect(throws: StoreError.notFound("Analytics key")) { try db.analytics.revokeKey(orgId: "org_b", id: "key_1", now: t0) }
        #expect(throws: StoreError.notFound("Analytics key")) { try db.analytics.revokeKey(orgId: "org_a", id: "key_none", now: t0) }
        #expect(try db.analytics.keys(orgId: "org_b") == [keys[3]])
    }

    @Test(arguments: StoreKind.tested)
    func importCursorsAreKeptByName(_ kind: StoreKind) throws {
        let db = try database(kind)
        #expect(try db.analytics.importCursor("vapi-calls") == nil)
        try db.analytics.setImportCursor("vapi-calls", "2024-01-01T00:00:00.000Z")
        try db.analytics.setImportCursor("other", "x")
        try db.analytics.setImportCursor("vapi-calls", "2024-01-02T00:00:00.000Z")
        #expect(try db.analytics.importCursor("vapi-calls") == "2024-01-02T00:00:00.000Z")
        #expect(try db.analytics.importCursor("other") == "x")
    }
}
