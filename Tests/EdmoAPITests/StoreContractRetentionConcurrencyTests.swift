import EdmoCore
import EdmoStore
import Foundation
import Synchronization
import Testing

/// Removals at once, as two hosts' sweeps and a late webhook would run them: every conversation is removed
/// and counted once, and an erased call never comes back.
struct StoreContractRetentionConcurrencyTests {
    @Test(arguments: StoreKind.tested)
    func concurrentSweepsRemoveEachConversationOnce(_ kind: StoreKind) throws {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a", "asst_b"])
        for n in 0..<60 {
            _ = try db.analytics.upsertCall(
                db.call("call_\(n)", assistant: n % 3 == 0 ? "asst_b" : "asst_a", number: n % 2 == 0 ? "pn_1" : nil, second: n * 600,
                        sentiment: n % 4 == 0 ? .negative : .positive, duration: n + 1),
                messages: [chatMessage(.user, "Hi \(n)"), chatMessage(.assistant, "Hello")])
        }
        let before = try db.countsEqualToRecount()
        let removed = Mutex(RemovedCounts())
        let outcomes = Outcomes()
        try runThreads(4) {
            outcomes.record {
                while true {
                    let batch = try db.analytics.removeConversations(orgId: "org_a", createdBefore: .distantFuture, limit: 4)
                    removed.withLock { $0 = $0 + batch }
                    if batch.conversations == 0 { return }
                }
            }
        }
        #expect(outcomes.all == ["ok": 4])
        #expect(removed.withLock { $0 } == RemovedCounts(conversations: 60, messages: 120))
        #expect(try db.rows("conversations") == 0)
        #expect(try db.countsEqualToRecount() == before)
        try db.analytics.rebuildAggregates()
        #expect(try db.countsEqualToRecount() == before)
    }

    @Test(arguments: StoreKind.tested)
    func reportsRacingAnErasureNeverBringTheCallBack(_ kind: StoreKind) throws {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a"])
        let key: @Sendable (String) -> String = { "erased:" + $0 }
        @Sendable func report(_ id: String, at second: Int) -> ConversationRecord {
            var call = db.call(id, second: 0, reportedSecond: second)
            call.customerNumber = "+15550100"
            return call
        }
        for id in ["call_1", "call_2"] { _ = try db.analytics.upsertCall(report(id, at: 1), messages: [chatMessage(.user, "Hi")], erasedKey: key(id)) }
        let outcomes = Outcomes()
        try runNumberedThreads(8) { n in
            outcomes.record {
                if n == 1 {
                    _ = try db.analytics.erase(orgId: "org_a", .phoneNumber("+15550100"), erasedKey: key, now: t0)
                } else {
                    // Newer reports of both calls, each once per thread.
                    for id in ["call_1", "call_2"] {
                        _ = try db.analytics.upsertCall(report(id, at: 1 + n), messages: [chatMessage(.user, "Again \(n)")], erasedKey: key(id))
                    }
                }
            }
        }
        #expect(outcomes.all == ["ok": 8])
        for id in ["call_1", "call_2"] {
            #expect(try db.chats.conversation(orgId: "org_a", id: id) == nil, "\(id)")
            #expect(try db.chats.messages(conversationId: id).isEmpty, "\(id)")
        }
        // Counted once each, as stored last before the erasure.
        #expect(try db.countsEqualToRecount().total == 2)
    }
}
