import EdmoCore
import EdmoStore
import Foundation
import Testing

/// ChatStore's contract for conversations: turns, ending, reopening, idle chats, and the analytics they
/// count in, the same assertions on every store.
struct StoreContractChatConversationTests {
    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a"])
        try db.organization("org_b")
        return db
    }

    @Test(arguments: StoreKind.tested)
    func turnsAreAppendedInOrderAndAddToTheTotals(_ kind: StoreKind) throws {
        let db = try database(kind)
        var expected = try db.chat("chat_1", text: "When is the deadline?")
        #expect(try db.chats.conversation(orgId: "org_a", id: "chat_1") == expected)
        #expect(try db.chats.conversation(orgId: "org_b", id: "chat_1") == nil)

        try db.chats.appendMessages(
            conversationId: "chat_1", [chatMessage(.assistant, "March 1.", second: 10)], now: t0.addingTimeInterval(10), cost: nil,
            unanswered: 0, providerChatId: nil)
        (expected.lastActivityAt, expected.updatedAt) = (chatStamp(10), chatStamp(10))
        #expect(try db.chats.conversation(orgId: "org_a", id: "chat_1") == expected)

        try db.chats.appendMessages(
            conversationId: "chat_1", [chatMessage(.user, "And a pool?", second: 20), chatMessage(.assistant, "I don't know.", second: 20)],
            now: t0.addingTimeInterval(20), cost: 0.5, unanswered: 1, providerChatId: "pc_1")
        try db.chats.appendMessages(
            conversationId: "chat_1", [chatMessage(.error, "failed", second: 30)], now: t0.addingTimeInterval(30), cost: 0.25,
            unanswered: 1, providerChatId: nil)
        (expected.lastActivityAt, expected.updatedAt, expected.cost, expected.unanswered, expected.providerChatId) =
            (chatStamp(30), chatStamp(30), 0.75, 2, "pc_1")
        #expect(try db.chats.conversation(orgId: "org_a", id: "chat_1") == expected)
        #expect(try db.chats.messages(conversationId: "chat_1").map(\.content) == ["When is the deadline?", "March 1.", "And a pool?", "I don't know.", "failed"])
        #expect(try db.chats.messages(conversationId: "chat_1").map(\.role) == [.user, .assistant, .user, .assistant, .error])
        #expect(try db.chats.messages(conversationId: "chat_none").isEmpty)
        // Messages need their conversation; no message changes nothing.
        #expect(throws: (any Error).self) {
            try db.chats.appendMessages(conversationId: "chat_none", [chatMessage(.user, "hi")], now: t0, cost: nil, unanswered: 0, providerChatId: nil)
        }
        try db.chats.appendMessages(conversationId: "chat_none", [], now: t0, cost: nil, unanswered: 0, providerChatId: nil)
        #expect(throws: (any Error).self) { try db.chat("chat_1") }
        #expect(try db.countsEqualToRecount().total == 0)
    }

    @Test(arguments: StoreKind.tested)
    func endingAnalysesOnceAndANewTurnReopens(_ kind: StoreKind) throws {
        let db = try database(kind)
        try db.chat("chat_1", second: 0, text: "When is the deadline?")
        try db.chats.appendMessages(
            conversationId: "chat_1", [chatMessage(.error, "failed", second: 20), chatMessage(.assistant, "March 1.", second: 29)],
            now: t0.addingTimeInterval(29.6), cost: nil, unanswered: 0, providerChatId: nil)
        try db.chats.endConversation(id: "chat_1", outcome: chatOutcome(reason: "idle-timeout"), now: t0.addingTimeInterval(700))
        let ended = try #require(try db.chats.conversation(orgId: "org_a", id: "chat_1"))
        #expect((ended.status, ended.endedAt, ended.durationSeconds, ended.endedReason) == (.ended, Timestamp.format(t0.addingTimeInterval(29.6)), 30, "idle-timeout"))
        #expect((ended.sentiment, ended.resolution, ended.summary, ended.successEvaluation) == (.positive, .resolved, "A summary", "true"))
        #expect(ended.transcript == "User: When is the deadline?\nAI: March 1.")
        #expect((ended.updatedAt, ended.lastActivityAt) == (chatStamp(700), Timestamp.format(t0.addingTimeInterval(29.6))))
        var counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.web, counts.positive, counts.resolved, counts.durationSeconds) == (1, 1, 1, 1, 30))

        // Ended again (another analysis): still one conversation, with the new outcome.
        try db.chats.endConversation(id: "chat_1", outcome: chatOutcome(.negative, .failed), now: t0.addingTimeInterval(800))
        counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.positive, counts.negative, counts.failed, counts.resolved) == (1, 0, 1, 1, 0))

        // A new turn reopens it: out of the analytics until it ends again.
        try db.chats.appendMessages(
            conversationId: "chat_1", [chatMessage(.user, "And tuition?", second: 900)], now: t0.addingTimeInterval(900), cost: nil,
            unanswered: 0, providerChatId: nil)
        let reopened = try #require(try db.chats.conversation(orgId: "org_a", id: "chat_1"))
        #expect((reopened.status, reopened.endedAt, reopened.endedReason, reopened.sentiment, reopened.resolution) == (.inProgress, nil, nil, nil, nil))
        #expect(try db.countsEqualToRecount().total == 0)
        try db.chats.endConversation(id: "chat_1", outcome: chatOutcome(.neutral, .escalated), now: t0.addingTimeInterval(1000))
        counts = try db.countsEqualToRecount()
        #expect((counts.total, counts.neutral, counts.escalated, counts.durationSeconds) == (1, 1, 1, 900))
        #expect(throws: StoreError.notFound("Conversation")) { try db.chats.endConversation(id: "chat_none", outcome: chatOutcome(), now: t0) }
    }

    @Test(arguments: StoreKind.tested)
    func idleChatsAreTheOpenOnesOldestActivityFirst(_ kind: StoreKind) throws {
        let db = try database(kind)
        for (id, second) in [("chat_3", 10), ("chat_1", 0), ("chat_2", 10), ("chat_4", 5), ("chat_5", 15)] { try db.chat(id, second: second) }
        try db.chats.endConversation(id: "chat_4", outcome: chatOutcome(), now: t0.addingTimeInterval(6))
        func idle(before second: Int, limit: Int = 10) throws -> [String] {
            try db.chats.idleConversations(before: t0.addingTimeInterval(TimeInterval(second)), limit: limit).map(\.id)
        }
        #expect(try idle(before: 15).first == "chat_1")
        #expect(try Set(idle(before: 15)) == ["chat_1", "chat_2", "chat_3"])
        #expect(try idle(before: 15, limit: 1) == ["chat_1"])
        #expect(try idle(before: 10) == ["chat_1"])
        try db.chats.appendMessages(conversationId: "chat_1", [], now: t0.addingTimeInterval(30), cost: nil, unanswered: 0, providerChatId: nil)
        #expect(try Set(idle(before: 16)) == ["chat_2", "chat_3", "chat_5"])
        #expect(try idle(before: 0).isEmpty)
    }

    /// Eight turns of one chat at once (two hosts' workers): every message kept, each turn's pair together.
    @Test(arguments: StoreKind.tested)
    func concurrentTurnsOfOneChatKeepEveryMessage(_ kind: StoreKind) throws {
        let db = try database(kind)
        try db.chat("chat_1")
        let outcomes = Outcomes()
        try runNumberedThreads(8) { turn in
            outcomes.record {
                try db.chats.appendMessages(
                    conversationId: "chat_1", [chatMessage(.user, "q\(turn)"), chatMessage(.assistant, "a\(turn)")],
                    now: t0.addingTimeInterval(TimeInterval(turn)), cost: 0.5, unanswered: 1, providerChatId: nil)
            }
        }
        #expect(outcomes.all == ["ok": 8])
        let contents = try db.chats.messages(conversationId: "chat_1").map(\.content).dropFirst()
        #expect(contents.count == 16)
        for pair in stride(from: contents.startIndex, to: contents.endIndex, by: 2) {
            #expect(contents[pair].dropFirst() == contents[pair + 1].dropFirst(), "\(Array(contents))")
        }
        let chat = try #require(try db.chats.conversation(orgId: "org_a", id: "chat_1"))
        #expect((chat.cost, chat.unanswered) == (4.0, 8))
    }
}
