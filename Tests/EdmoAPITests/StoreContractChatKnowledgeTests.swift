import EdmoCore
import EdmoStore
import Foundation
import Testing

/// ChatStore's contract for knowledge entries and knowledge gaps, the same assertions on every store.
struct StoreContractChatKnowledgeTests {
    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a", "asst_b"])
        try db.organization("org_b", assistants: ["asst_x"])
        return db
    }

    @Test(arguments: StoreKind.tested)
    func entriesPageNewestFirstPerAssistantWithTheirTotal(_ kind: StoreKind) throws {
        let db = try database(kind)
        for (id, second) in [("k1", 1), ("k2", 2), ("k4", 2), ("k3", 3)] { try db.entry(id, title: "Title \(id)", second: second) }
        try db.entry("k9", assistant: "asst_b", title: "Other assistant")
        try db.entry("kx", org: "org_b", assistant: "asst_x", title: "Other organisation")
        func page(_ limit: Int, _ offset: Int) throws -> ([String], Int) {
            let page = try db.chats.knowledgeEntries(orgId: "org_a", assistantId: "asst_a", limit: limit, offset: offset)
            return (page.items.map(\.id), page.total)
        }
        #expect(try page(10, 0) == (["k3", "k4", "k2", "k1"], 4))
        #expect(try page(2, 1) == (["k4", "k2"], 4))
        #expect(try page(2, 4) == ([], 4))
        // SQLite reads a negative limit as none and a negative offset as 0.
        #expect(try page(-1, -5) == (["k3", "k4", "k2", "k1"], 4))
        #expect(try db.chats.knowledgeEntries(orgId: "org_b", assistantId: "asst_a", limit: 10, offset: 0).total == 0)

        let stored = try #require(try db.chats.knowledgeEntry(orgId: "org_a", assistantId: "asst_a", id: "k1"))
        #expect(stored == knowledgeEntry("k1", title: "Title k1", second: 1))
        #expect(try db.chats.knowledgeEntry(orgId: "org_a", assistantId: "asst_b", id: "k1") == nil)
        #expect(try db.chats.knowledgeEntry(orgId: "org_b", assistantId: "asst_a", id: "k1") == nil)
    }

    @Test(arguments: StoreKind.tested)
    func questionsAndTextsReadBackAsWritten(_ kind: StoreKind) throws {
        let db = try database(kind)
        let entries = [
            knowledgeEntry("k1", title: "Ünïcode \"quotes\" \\ back", content: "Line 1\nLine 2\t✓", questions: ["First?", "", "Third, with \"quotes\"?"]),
            knowledgeEntry("k2", title: "No questions", content: ""),
        ]
        try db.chats.insertKnowledge(entries)
        #expect(try db.chats.knowledgeEntries(orgId: "org_a", assistantId: "asst_a", limit: 10, offset: 0).items.sorted { $0.id < $1.id } == entries)
    }

    @Test(arguments: StoreKind.tested)
    func anImportIsAllOrNothing(_ kind: StoreKind) throws {
        let db = try database(kind)
        try db.entry("k1", title: "Existing")
        #expect(throws: (any Error).self) {
            try db.chats.insertKnowledge([knowledgeEntry("k2", title: "New"), knowledgeEntry("k1", title: "Duplicate id")])
        }
        #expect(throws: (any Error).self) {
            try db.chats.insertKnowledge([knowledgeEntry("k3", title: "New"), knowledgeEntry("k4", assistant: "asst_none", title: "No assistant")])
        }
        #expect(try db.chats.knowledgeEntries(orgId: "org_a", assistantId: "asst_a", limit: 10, offset: 0).items.map(\.id) == ["k1"])
    }

    @Test(arguments: StoreKind.tested)
    func updatesAndDeletesAreConditionalOnTheVersionRead(_ kind: StoreKind) throws {
        let db = try database(kind)
        var entry = try db.entry("k1", title: "Pool", content: "The pool opens at 6am.", questions: ["Is there a swimming pool?"])
        func search(_ question: String) throws -> [String] {
            try db.chats.searchKnowledge(assistantId: "asst_a", terms: KnowledgeRules.searchTerms(question), limit: 3).map(\.content)
        }
        #expect(try search("is there a swimming pool") == ["The pool opens at 6am."])
        (entry.title, entry.content, entry.questions, entry.updatedAt) = ("Gym", "The gym opens at 7am.", [], chatStamp(5))
        #expect(try db.chats.updateKnowledge(entry) == 2)
        var expected = entry
        expected.version = 2
        #expect(try db.chats.knowledgeEntry(orgId: "org_a", assistantId: "asst_a", id: "k1") == expected)
        // The search reads the new texts.
        #expect(try search("is there a swimming pool").isEmpty)
        #expect(try search("when does the gym open") == ["The gym opens at 7am."])

        #expect(throws: StoreError.stale) { try db.chats.updateKnowledge(entry) }
        var gone = expected
        gone.id = "k9"
        #expect(throws: StoreError.notFound("Knowledge entry")) { try db.chats.updateKnowledge(gone) }
        // Another assistant's or organisation's entry is not changed; it is looked for by id alone.
        var foreign = expected
        foreign.assistantId = "asst_b"
        #expect(throws: StoreError.stale) { try db.chats.updateKnowledge(foreign) }
        #expect(throws: StoreError.stale) { try db.chats.deleteKnowledge(orgId: "org_b", assistantId: "asst_a", id: "k1", version: nil) }

        #expect(throws: StoreError.stale) { try db.chats.deleteKnowledge(orgId: "org_a", assistantId: "asst_a", id: "k1", version: 1) }
        try db.chats.deleteKnowledge(orgId: "org_a", assistantId: "asst_a", id: "k1", version: 2)
        #expect(throws: StoreError.notFound("Knowledge entry")) {
            try db.chats.deleteKnowledge(orgId: "org_a", assistantId: "asst_a", id: "k1", version: nil)
        }
        #expect(try search("when does the gym open").isEmpty)
        try db.entry("k2", title: "Gone unconditionally")
        try db.chats.deleteKnowledge(orgId: "org_a", assistantId: "asst_a", id: "k2", version: nil)
        #expect(try db.chats.knowledgeEntries(orgId: "org_a", assistantId: "asst_a", limit: 10, offset: 0).total == 0)
    }

    // MARK: gaps

    func record(_ db: ChatContractDatabase, _ question: String, id: String, assistant: String = "asst_a", org: String = "org_a", second: Int) throws -> KnowledgeGap {
        try db.chats.recordGap(
            orgId: org, assistantId: assistant, question: question, normalized: KnowledgeRules.normalize(question), newId: id,
            now: t0.addingTimeInterval(TimeInterval(second)))
    }

    @Test(arguments: StoreKind.tested)
    func aQuestionAskedAgainCountsUpItsPendingGapAndRaisesItsPriority(_ kind: StoreKind) throws {
        let db = try database(kind)
        let first = try record(db, "Do you offer scholarships for athletes?", id: "gap_1", second: 1)
        #expect(first == KnowledgeGap(
            id: "gap_1", orgId: "org_a", assistantId: "asst_a", question: "Do you offer scholarships for athletes?", occurrences: 1,
            priority: "low", status: "pending", createdAt: chatStamp(1), updatedAt: chatStamp(1)))
        let second = try record(db, "do you offer athletes scholarships", id: "gap_2", second: 2)
        #expect((second.id, second.occurrences, second.priority, second.question) == ("gap_1", 2, "medium", first.question))
        let third = try record(db, "Scholarships for athletes: do you offer them?", id: "gap_3", second: 3)
        #expect((third.id, third.occurrences, third.priority, third.createdAt, third.updatedAt) == ("gap_1", 3, "high", chatStamp(1), chatStamp(3)))
        // Another assistant's gap is its own.
        #expect(try record(db, "Do you offer scholarships for athletes?", id: "gap_4", assistant: "asst_b", second: 4).occurrences == 1)
        #expect(try db.chats.gap(orgId: "org_a", id: "gap_1") == third)
        #expect(try db.chats.gap(orgId: "org_b", id: "gap_1") == nil)
        #expect(try db.chats.gap(orgId: "org_a", id: "gap_2") == nil)
    }

    @Test(arguments: StoreKind.tested)
    func gapsFilterAndPageByLatestActivity(_ kind: StoreKind) throws {
        let db = try database(kind)
        _ = try record(db, "parking", id: "g1", second: 1)
        _ = try record(db, "housing", id: "g2", second: 2)
        _ = try record(db, "library", id: "g3", assistant: "asst_b", second: 2)
        _ = try record(db, "parking", id: "g9", second: 5)  // g1 again: now the most recent
        _ = try record(db, "visa", id: "gx", assistant: "asst_x", org: "org_b", second: 6)
        func list(_ filter: GapFilter = GapFilter(), limit: Int = 10, offset: Int = 0) throws -> ([String], Int) {
            let page = try db.chats.gaps(orgId: "org_a", filter: filter, limit: limit, offset: offset)
            return (page.items.map(\.id), page.total)
        }
        #expect(try list() == (["g1", "g3", "g2"], 3))
        #expect(try list(limit: 1, offset: 1) == (["g3"], 3))
        #expect(try list(limit: 10, offset: 3) == ([], 3))
        #expect(try list(GapFilter(assistantId: "asst_a")) == (["g1", "g2"], 2))
        #expect(try list(GapFilter(priority: "medium")) == (["g1"], 1))
        #expect(try list(GapFilter(status: "resolved")) == ([], 0))
        _ = try db.chats.resolveGap(orgId: "org_a", id: "g2", entry: knowledgeEntry("kb_1", title: "Housing", content: "Apply online."), now: t0.addingTimeInterval(7))
        #expect(try list(GapFilter(status: "pending")) == (["g1", "g3"], 2))
        #expect(try list(GapFilter(assistantId: "asst_a", status: "resolved", priority: "low")) == (["g2"], 1))
        #expect(try db.analytics.gapCounts(orgId: "org_a", assistantId: nil) == (2, 0))
        _ = try record(db, "parking", id: "g10", second: 8)
        #expect(try db.analytics.gapCounts(orgId: "org_a", assistantId: nil) == (2, 1))
        #expect(try db.analytics.gapCounts(orgId: "org_a", assistantId: "asst_b") == (1, 0))
        #expect(try db.analytics.gapCounts(orgId: nil, assistantId: nil) == (3, 1))
        #expect(try db.analytics.gapCounts(orgId: "org_none", assistantId: nil) == (0, 0))
    }

    @Test(arguments: StoreKind.tested)
    func resolvingAGapAddsItsAnswerOnceAndFreesTheQuestion(_ kind: StoreKind) throws {
        let db = try database(kind)
        _ = try record(db, "Is there a dance club?", id: "gap_1", second: 1)
        let answer = knowledgeEntry("kb_1", title: "Is there a dance club?", content: "Yes, on Fridays.", second: 2)
        #expect(throws: StoreError.notFound("Knowledge gap")) { try db.chats.resolveGap(orgId: "org_b", id: "gap_1", entry: answer, now: t0) }
        let resolved = try db.chats.resolveGap(orgId: "org_a", id: "gap_1", entry: answer, now: t0.addingTimeInterval(2))
        #expect((resolved.status, resolved.resolvedEntryId, resolved.updatedAt, resolved.occurrences) == ("resolved", "kb_1", chatStamp(2), 1))
        #expect(try db.chats.gap(orgId: "org_a", id: "gap_1") == resolved)
        #expect(try db.chats.knowledgeEntry(orgId: "org_a", assistantId: "asst_a", id: "kb_1") == answer)
        #expect(throws: StoreError.conflict("This knowledge gap is already resolved")) {
            try db.chats.resolveGap(orgId: "org_a", id: "gap_1", entry: knowledgeEntry("kb_2", title: "Again"), now: t0)
        }
        #expect(try db.chats.knowledgeEntry(orgId: "org_a", assistantId: "asst_a", id: "kb_2") == nil)
        // The same question asked again is a new pending gap.
        let again = try record(db, "is there a dance club", id: "gap_2", second: 3)
        #expect((again.id, again.occurrences, again.status) == ("gap_2", 1, "pending"))
    }

    /// Eight hosts' workers recording one question at once: one pending gap, every occurrence counted.
    @Test(arguments: StoreKind.tested)
    func concurrentRecordsOfOneQuestionMakeOneGap(_ kind: StoreKind) throws {
        let db = try database(kind)
        let outcomes = Outcomes()
        try runNumberedThreads(8) { n in
            outcomes.record { _ = try self.record(db, "Is there a dance club?", id: "gap_\(n)", second: 1) }
        }
        #expect(outcomes.all == ["ok": 8])
        let gaps = try db.chats.gaps(orgId: "org_a", filter: GapFilter(), limit: 10, offset: 0)
        #expect(gaps.total == 1)
        #expect((gaps.items.first?.occurrences, gaps.items.first?.priority) == (8, "high"))
    }

    /// Eight resolving one gap at once: one answer is added, the others are told it is resolved.
    @Test(arguments: StoreKind.tested)
    func concurrentResolutionsOfOneGapAddOneEntry(_ kind: StoreKind) throws {
        let db = try database(kind)
        _ = try record(db, "Is there a dance club?", id: "gap_1", second: 1)
        let outcomes = Outcomes()
        try runNumberedThreads(8) { n in
            outcomes.record { _ = try db.chats.resolveGap(orgId: "org_a", id: "gap_1", entry: knowledgeEntry("kb_\(n)", title: "Dance"), now: t0) }
        }
        #expect(outcomes.all == ["ok": 1, "This knowledge gap is already resolved": 7])
        #expect(try db.chats.knowledgeEntries(orgId: "org_a", assistantId: "asst_a", limit: 10, offset: 0).total == 1)
    }
}
