import EdmoCore
import EdmoStore
import Foundation
import Testing

/// The knowledge search on every store: the suite's knowledge tests (their entries and questions) make the
/// built-in engine quote the same entry or record the same gap, and the stores rank alike.
struct StoreContractChatSearchTests {
    static let admissions: [(title: String, content: String, questions: [String])] = [
        ("Application deadline", "Applications for the fall semester close on March 1.", ["When do applications close?", "What is the last day to apply?"]),
        ("Tuition fees", "Tuition is $12,000 per year for full-time students.", ["How much does it cost to study?"]),
        ("Campus parking", "Student parking permits cost $150 per semester and are sold at the security office.", []),
        ("Library hours", "The library is open from 8am to 10pm on weekdays and 10am to 6pm on weekends.", ["When is the library open?"]),
        ("Transcript requests", "Order official transcripts online through the registrar portal; they arrive in 5 business days.", []),
        ("Housing application", "Apply for on-campus housing after you accept your offer, through the housing portal.", []),
    ]

    static let scenarios: [KnowledgeScenario] = [
        // ChatTests and HardeningTests: ChatSetup's knowledge base.
        KnowledgeScenario(name: "ChatTests", batches: [admissions], steps: [
            .ask("When is the application deadline?", .quotes("Application deadline")),
            .ask("what's the last day I can apply", .quotes("Application deadline")),
            .ask("How much is tuition?", .quotes("Tuition fees")),
            .ask("how expensive are the tuition fees per year", .quotes("Tuition fees")),
            .ask("Where do I buy a parking permit?", .quotes("Campus parking")),
            .ask("what time does the library open on weekends", .quotes("Library hours")),
            .ask("How can I request my official transcript?", .quotes("Transcript requests")),
            .ask("how do I apply for housing on campus", .quotes("Housing application")),
            .ask("Do you offer scholarships for athletes?", .gap(top: "Housing application")),
            .ask("do you offer athletes scholarships", .gap(top: "Housing application")),
            .ask("Scholarships for athletes: do you offer them?", .gap(top: "Housing application")),
            .ask("Do you have a pool?", .gap(top: nil)),
            .ask("And tuition?", .quotes("Tuition fees")),
            .ask("Great, thanks, that is very helpful!", .smallTalk),
            .ask("This is useless and terrible, I want to speak to a real person", .gap(top: nil)),
            .ask("Hi, when is the application deadline?", .quotes("Application deadline")),
            .ask("Hello there, how much is tuition?", .quotes("Tuition fees")),
            // Not asked in a chat by the suite (only checked not to be small talk): "good" and "morning" count.
            .ask("Good morning, where do I buy a parking permit?", .gap(top: "Campus parking")),
            .ask("thanks, and when is the deadline?", .quotes("Application deadline")),
            .ask("Hey, do you offer scholarships for athletes?", .gap(top: "Housing application")),
            .ask("Hello there!", .smallTalk),
            // knowledgeEntriesCRUDAndAllOrNothingImport
            .add(title: "Pool", content: "The pool opens at 6am.", questions: ["Is there a swimming pool?"]),
            .ask("is there a swimming pool", .quotes("Pool")),
            .edit(title: "Pool", content: "The pool opens at 7am."),
            .ask("is there a swimming pool", .quotes("Pool")),
            .delete(title: "Pool"),
            .ask("is there a swimming pool", .gap(top: nil)),
            // anUnrelatedQuestionRecordsOneGapAndRepeatsRaiseItsPriority: the gap's answer, as GapRoutes adds it.
            .add(title: "Do you offer scholarships for athletes?", content: "Yes: athletic scholarships cover up to half of tuition.", questions: []),
            .ask("Do you offer scholarships for athletes?", .quotes("Do you offer scholarships for athletes?")),
        ]),
        // tests/e2e/test_chat.py: two imported entries, then one added.
        KnowledgeScenario(
            name: "test_chat.py",
            batches: [[("Application deadline", "Fall applications close on March 1.", ["When do applications close?"]),
                       ("Tuition", "Tuition is $12,000 per year.", [])],
                      [("Parking", "Permits are $150 a semester.", [])]],
            steps: [
                .ask("When is the application deadline?", .quotes("Application deadline")),
                .ask("how much is tuition", .quotes("Tuition")),
                .ask("Is there a dance club?", .gap(top: nil)),
            ]),
        // tests/e2e/test_dashboard.py: KNOWLEDGE, added one by one, and CHAT_TURNS.
        KnowledgeScenario(
            name: "test_dashboard.py",
            batches: [[("Application deadline", "Applications close on March 15th.", ["When do applications close?", "Last day to apply?"])],
                      [("Campus tours", "Tours run every Friday, at 10am.", [])], [("Tuition fees", "Tuition is 9000 euros per year.", [])],
                      [("Library hours", "The library opens 8am to 10pm, Monday to Saturday.", [])]],
            steps: [
                .ask("Hello!", .smallTalk),
                .ask("When is the application deadline?", .quotes("Application deadline")),
                .ask("Do you offer scholarships?", .gap(top: nil)),
            ]),
        // tests/e2e/test_reliability.py
        KnowledgeScenario(
            name: "test_reliability.py", batches: [[("Deadline", "Applications close on March 1.", [])]],
            steps: [.ask("When is the deadline?", .quotes("Deadline"))]),
    ]

    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a", "asst_b"])
        return db
    }

    @Test(arguments: StoreKind.tested, scenarios)
    func theEngineQuotesTheSameEntryOrRecordsTheSameGap(_ kind: StoreKind, _ scenario: KnowledgeScenario) throws {
        let results = try scenario.run(try database(kind))
        for (result, expected) in zip(results, scenario.expected) {
            #expect(result.decision == expected.decision, "\(result.question): found \(result.found)")
        }
    }

    /// Both stores, side by side: the same three entries in the same order for every question (the order
    /// is the prompt a language model gets). Skipped, and said so, with EDMO_TEST_POSTGRES=off.
    @Test(.enabled(if: postgresTestsEnabled, "EDMO_TEST_POSTGRES=off"), arguments: scenarios)
    func bothStoresFindTheSameEntriesInTheSameOrder(_ scenario: KnowledgeScenario) throws {
        let sqlite = try scenario.run(try database(.sqlite)), postgres = try scenario.run(try database(.postgres))
        for (s, p) in zip(sqlite, postgres) { #expect(s.found == p.found, "\(s.question)") }
    }

    /// A bench-like knowledge base of two assistants (FTS5's statistics span both), with long runs of equal
    /// scores and terms common enough to be left out: the same three entries, in order, on both stores.
    @Test(.enabled(if: postgresTestsEnabled, "EDMO_TEST_POSTGRES=off"))
    func bothStoresRankAGeneratedKnowledgeBaseAlike() throws {
        let (sqlite, postgres) = (try database(.sqlite), try database(.postgres))
        var generator = GeneratedKnowledge(seed: 7)
        let entries = (0..<300).map { generator.entry($0, assistant: "asst_a") } + (0..<120).map { generator.entry($0, assistant: "asst_b") }
        for db in [sqlite, postgres] { try db.chats.insertKnowledge(entries) }
        var differences: [String] = []
        for _ in 0..<150 {
            let question = generator.question()
            let terms = KnowledgeRules.searchTerms(question)
            for assistant in ["asst_a", "asst_b"] {
                let s = try sqlite.chats.searchKnowledge(assistantId: assistant, terms: terms, limit: 3).map(\.id)
                let p = try postgres.chats.searchKnowledge(assistantId: assistant, terms: terms, limit: 3).map(\.id)
                if s != p { differences.append("\(assistant) \(question): SQLite \(s), PostgreSQL \(p)") }
            }
        }
        #expect(differences.isEmpty, "\(differences.count) differ:\n\(differences.prefix(10).joined(separator: "\n"))")
    }
}
