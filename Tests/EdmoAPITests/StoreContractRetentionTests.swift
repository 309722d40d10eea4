import EdmoCore
import EdmoStore
import Foundation
import Testing

/// Retention and erasure on every store: conversations go in batches or by person, the analytics keep
/// counting them (aggregates = recount, also after a rebuild), other organisations are untouched, erased
/// calls stay erased, and a failing batch leaves nothing half done.
struct StoreContractRetentionTests {
    static let day = 86_400

    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a", "asst_b"])
        try db.organization("org_b", assistants: ["asst_x"])
        return db
    }

    /// Over four days in org_a: calls (with a caller's number, messages, one without assistant, one not
    /// analysed), chats (ended, open); org_b has calls on the same days and from the same number.
    func fill(_ db: ChatContractDatabase) throws {
        for n in 0..<8 {
            var call = db.call(
                "call_\(n)", assistant: n == 3 ? nil : (n % 2 == 0 ? "asst_a" : "asst_b"), number: n % 3 == 0 ? "pn_1" : nil,
                second: (n / 2) * Self.day + n, channel: n == 5 ? .web : .phone, sentiment: n % 4 == 1 ? .negative : .positive,
                resolution: n == 6 ? .escalated : .resolved, duration: 10 * (n + 1), reportedSecond: 9 * Self.day,
                status: n == 7 ? .inProgress : .ended)
            call.customerNumber = n % 2 == 0 ? "+15550100" : "+15550199"
            #expect(try db.analytics.upsertCall(call, messages: [chatMessage(.assistant, "Hello \(n)"), chatMessage(.user, "Hi")]))
        }
        try db.chat("chat_ended", second: 30, text: "When is the deadline?")
        try db.chats.endConversation(id: "chat_ended", outcome: chatOutcome(.neutral, .failed), now: t0.addingTimeInterval(90))
        try db.chat("chat_open", second: 2 * Self.day + 40)
        for n in 0..<3 {
            var call = db.call("other_\(n)", org: "org_b", assistant: "asst_x", second: n * Self.day + 5, reportedSecond: 9 * Self.day)
            call.customerNumber = "+15550100"
            _ = try db.analytics.upsertCall(call, messages: [chatMessage(.user, "Other \(n)")])
        }
    }

    func filters() -> [AnalyticsFilter] {
        analyticsFilters(
            orgs: [nil, "org_a", "org_b"], assistants: [nil, "asst_a", "asst_b"], numbers: [nil, "pn_1"],
            fromDays: ["2024-01-01", "2024-01-02", "2024-01-04"])
    }

    /// The aggregates for every filter, after checking each equals its recount.
    func countsEqualToRecount(_ db: ChatContractDatabase) throws -> [AnalyticsCounts] {
        let filters = filters()
        let counts = try filters.map { try db.analytics.counts($0) }
        #expect(try filters.map { try db.analytics.recount($0) } == counts)
        return counts
    }

    func ids(_ db: ChatContractDatabase, org: String) throws -> [String] {
        try db.analytics.conversations(AnalyticsFilter(orgId: org, fromDay: ""), limit: 100, offset: 0).map(\.id).sorted()
    }

    @Test(arguments: StoreKind.tested)
    func retentionRemovesOldestFirstInBatchesAndTheAnalyticsKeepCounting(_ kind: StoreKind) throws {
        let db = try database(kind)
        try fill(db)
        let before = try countsEqualToRecount(db)
        let messagesBefore = try db.rows("conversation_messages")

        // Before the third day: calls 0-3 (2 messages each) and the ended chat (1), oldest first.
        let cutoff = t0.addingTimeInterval(TimeInterval(2 * Self.day))
        var batches: [RemovedCounts] = []
        while true {
            let batch = try db.analytics.removeConversations(orgId: "org_a", createdBefore: cutoff, limit: 2)
            batches.append(batch)
            if batch.conversations < 2 { break }
            // Oldest first: after each batch, nothing older than what is left is left.
            #expect(try db.chats.conversation(orgId: "org_a", id: "call_0") == nil)
        }
        #expect(batches == [RemovedCounts(conversations: 2, messages: 4), RemovedCounts(conversations: 2, messages: 3),
                            RemovedCounts(conversations: 1, messages: 2)])
        for id in ["call_0", "call_1", "call_2", "call_3", "chat_ended"] {
            #expect(try db.chats.conversation(orgId: "org_a", id: id) == nil, "\(id)")
            #expect(try db.chats.messages(conversationId: id).isEmpty, "\(id)")
        }
        for id in ["call_4", "call_5", "call_6", "call_7", "chat_open"] {
            #expect(try db.chats.conversation(orgId: "org_a", id: id) != nil, "\(id)")
        }
        #expect(try ids(db, org: "org_b") == ["other_0", "other_1", "other_2"])
        #expect(try db.rows("conversation_messages") == messagesBefore - 9)

        // History stays exact: every aggregate as before, equal to the recount, also once rebuilt.
        #expect(try countsEqualToRecount(db) == before)
        try db.analytics.rebuildAggregates()
        #expect(try countsEqualToRecount(db) == before)

        // Everything, then nothing left to remove.
        let rest = try db.analytics.removeConversations(orgId: "org_a", createdBefore: t0.addingTimeInterval(TimeInterval(9 * Self.day)), limit: 500)
        #expect(rest == RemovedCounts(conversations: 5, messages: 9))
        #expect(try db.analytics.removeConversations(orgId: "org_a", createdBefore: .distantFuture, limit: 500) == RemovedCounts())
        #expect(try countsEqualToRecount(db) == before)
        try db.analytics.rebuildAggregates()
        #expect(try countsEqualToRecount(db) == before)
        #expect(try ids(db, org: "org_b") == ["other_0", "other_1", "other_2"])

        // A conversation counted after removals adds to the same rows as before.
        _ = try db.analytics.upsertCall(db.call("call_new", second: 10), messages: [])
        let all = try db.analytics.counts(AnalyticsFilter(orgId: "org_a", fromDay: ""))
        #expect(all.total == before[filters().firstIndex(of: AnalyticsFilter(orgId: "org_a", fromDay: "2024-01-01"))!].total + 1)
        #expect(try db.analytics.recount(AnalyticsFilter(orgId: "org_a", fromDay: "")) == all)
    }

    @Test(arguments: StoreKind.tested)
    func erasureByPhoneNumberAndByChatIdStaysWithinTheOrganization(_ kind: StoreKind) throws {
        let db = try database(kind)
        try fill(db)
        let before = try countsEqualToRecount(db)
        let key = { (id: String) in "erased:" + id }

        let byNumber = try db.analytics.erase(orgId: "org_a", .phoneNumber("+15550100"), erasedKey: key, now: t0)
        #expect(byNumber == RemovedCounts(conversations: 4, messages: 8))
        #expect(try ids(db, org: "org_a") == ["call_1", "call_3", "call_5", "chat_ended"])
        #expect(try ids(db, org: "org_b") == ["other_0", "other_1", "other_2"])
        #expect(try db.chats.conversation(orgId: "org_a", id: "call_7") != nil)  // another number, not analysed
        #expect(try db.chats.messages(conversationId: "call_0").isEmpty)

        let byChat = try db.analytics.erase(orgId: "org_a", .conversationId("chat_ended"), erasedKey: key, now: t0)
        #expect(byChat == RemovedCounts(conversations: 1, messages: 1))
        #expect(try db.analytics.erase(orgId: "org_a", .conversationId("chat_ended"), erasedKey: key, now: t0) == RemovedCounts())
        // Another organisation's conversation, by id or number: nothing.
        #expect(try db.analytics.erase(orgId: "org_a", .conversationId("other_0"), erasedKey: key, now: t0) == RemovedCounts())
        #expect(try db.analytics.erase(orgId: "org_b", .phoneNumber("+15550199"), erasedKey: key, now: t0) == RemovedCounts())
        #expect(try ids(db, org: "org_b") == ["other_0", "other_1", "other_2"])
        #expect(try db.rows("erased_conversations") == 5)

        #expect(try countsEqualToRecount(db) == before)
        try db.analytics.rebuildAggregates()
        #expect(try countsEqualToRecount(db) == before)

        // A late or resent report of an erased call is dropped; one of another call is stored.
        var late = db.call("call_0", second: 0, reportedSecond: 10 * Self.day)
        late.customerNumber = "+15550100"
        #expect(try !db.analytics.upsertCall(late, messages: [chatMessage(.user, "back?")], erasedKey: key("call_0")))
        #expect(try db.chats.conversation(orgId: "org_a", id: "call_0") == nil)
        #expect(try db.chats.messages(conversationId: "call_0").isEmpty)
        #expect(try db.analytics.upsertCall(db.call("call_9", second: 5), messages: [], erasedKey: key("call_9")))
        #expect(try countsEqualToRecount(db)[0].total == before[0].total + 1)
    }

    @Test(arguments: StoreKind.tested)
    func aBatchThatFailsRemovesNothingAndCountsNothing(_ kind: StoreKind) throws {
        let db = try database(kind)
        try fill(db)
        let before = try countsEqualToRecount(db)
        let (conversations, messages) = (try db.rows("conversations"), try db.rows("conversation_messages"))
        // The last statement of the batch fails: deleting the messages of call_2.
        switch kind {
        case .sqlite:
            try db.execute("""
                CREATE TRIGGER refuse BEFORE DELETE ON conversation_messages WHEN old.content = 'Hello 2'
                BEGIN SELECT RAISE(ABORT, 'refused'); END
                """)
        case .postgres:
            try db.execute("""
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
                CREATE TRIGGER refuse BEFORE DELETE ON conversation_messages FOR EACH ROW WHEN (old.content = 'Hello 2')
                EXECUTE FUNCTION refuse();
                """)
        }
        #expect(throws: (any Error).self) {
            try db.analytics.removeConversations(orgId: "org_a", createdBefore: .distantFuture, limit: 500)
        }
        #expect(throws: (any Error).self) {
            try db.analytics.erase(orgId: "org_a", .phoneNumber("+15550100"), erasedKey: { $0 }, now: t0)
        }
        #expect(try db.rows("conversations") == conversations)
        #expect(try db.rows("conversation_messages") == messages)
        #expect(try db.rows("analytics_retired") == 0)
        #expect(try db.rows("analytics_retired_hourly") == 0)
        #expect(try db.rows("erased_conversations") == 0)
        #expect(try countsEqualToRecount(db) == before)

        // Batches before the failing one stay done; the failing one can be run again once the cause is gone.
        #expect(try db.analytics.removeConversations(orgId: "org_a", createdBefore: .distantFuture, limit: 2).conversations == 2)
        try db.execute("DROP TRIGGER refuse" + (kind == .postgres ? " ON conversation_messages" : ""))
        #expect(try db.analytics.removeConversations(orgId: "org_a", createdBefore: .distantFuture, limit: 500).conversations == 8)
        #expect(try countsEqualToRecount(db) == before)
    }

    @Test(arguments: StoreKind.tested)
    func settingsAreStoredPerOrganization(_ kind: StoreKind) throws {
        let db = try database(kind)
        let accounts = db.stores.accounts
        #expect(try accounts.settings(orgId: "org_a") == OrganizationSettings())
        #expect(try accounts.settings(orgId: "org_none") == nil)
        #expect(try accounts.updateSettings(orgId: "org_a", OrganizationSettings(retentionDays: 30)) == OrganizationSettings())
        #expect(try accounts.updateSettings(orgId: "org_b", OrganizationSettings(retentionDays: 0)) == OrganizationSettings())
        #expect(try accounts.updateSettings(orgId: "org_a", OrganizationSettings(retentionDays: 7)) == OrganizationSettings(retentionDays: 30))
        #expect(try accounts.settings(orgId: "org_a") == OrganizationSettings(retentionDays: 7))
        let all = try accounts.organizationSettings()
        #expect(all.map { $0.organization.id } == ["org_a", "org_b"])
        #expect(all.map { $0.settings } == [OrganizationSettings(retentionDays: 7), OrganizationSettings(retentionDays: 0)])
        #expect(throws: StoreError.notFound("Organization")) { try accounts.updateSettings(orgId: "org_none", OrganizationSettings()) }
        // The schema holds the range too.
        #expect(throws: (any Error).self) { try accounts.updateSettings(orgId: "org_a", OrganizationSettings(retentionDays: 36_501)) }
        #expect(try accounts.updateSettings(orgId: "org_a", OrganizationSettings()) == OrganizationSettings(retentionDays: 7))
        #expect(try accounts.settings(orgId: "org_a") == OrganizationSettings())
    }
}
