import EdmoCore
import EdmoService
import EdmoStore
import Foundation
import Testing

/// What the built-in engine does with a question and the entries the store found for it.
enum KnowledgeDecision: Equatable, Sendable, CustomStringConvertible {
    /// It answers with the content of the entry with this title.
    case quotes(String)
    /// It records a knowledge gap; `top` is the title of the best entry found, which did not cover enough.
    case gap(top: String?)
    case smallTalk

    var description: String {
        switch self {
        case .quotes(let title): "quotes \"\(title)\""
        case .gap(let top): "gap (best found: \(top.map { "\"\($0)\"" } ?? "none"))"
        case .smallTalk: "small talk"
        }
    }

    static let assistant = DocumentRecord(id: "asst_a", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0))
    static let config = try! JSONDecoder().decode(AssistantConfig.self, from: Data(#"{"model":{"provider":"openai","model":"gpt-4o"},"voice":{}}"#.utf8))

    /// As `ChatService` asks: the best three entries for the question's terms, then `ChatEngine.builtIn`.
    init(_ question: String, found: [KnowledgeEntry]) {
        let coverage = found.first.map { KnowledgeRules.coverage(of: question, by: $0) } ?? 0
        let reply = ChatEngine.builtIn(ChatTurn(
            assistant: Self.assistant, config: Self.config, history: [], message: question, knowledge: found, coverage: coverage))
        if reply.unanswered {
            self = .gap(top: found.first?.title)
        } else if let best = found.first, reply.text == best.content {
            self = .quotes(best.title)
        } else {
            self = .smallTalk
        }
    }
}

/// One knowledge test of the suite, as the store sees it: entries imported in batches (one creation time
/// per batch, as an import has), then questions asked, with entries added, edited and deleted between them.
struct KnowledgeScenario: Sendable, CustomTestStringConvertible {
    enum Step: Sendable {
        case ask(String, KnowledgeDecision)
        case add(title: String, content: String, questions: [String])
        case edit(title: String, content: String)
        case delete(title: String)
    }

    let name: String
    let batches: [[(title: String, content: String, questions: [String])]]
    let steps: [Step]

    var testDescription: String { name }

    /// The decision and the titles of the three entries found, for each question. Ids count down, so
    /// that an id order would differ from the insertion order, as random ids do.
    func run(_ db: ChatContractDatabase) throws -> [(question: String, decision: KnowledgeDecision, found: [String])] {
        var ids: [String: String] = [:], next = 999
        func entry(_ title: String, _ content: String, _ questions: [String], second: Int) -> KnowledgeEntry {
            next -= 1
            ids[title] = "kb_\(next)"
            return knowledgeEntry("kb_\(next)", title: title, content: content, questions: questions, second: second)
        }
        for (n, batch) in batches.enumerated() {
            try db.chats.insertKnowledge(batch.map { entry($0.title, $0.content, $0.questions, second: n) })
        }
        var results: [(question: String, decision: KnowledgeDecision, found: [String])] = []
        for (n, step) in steps.enumerated() {
            switch step {
            case .ask(let question, _):
                let found = try db.chats.searchKnowledge(assistantId: "asst_a", terms: KnowledgeRules.searchTerms(question), limit: 3)
                results.append((question, KnowledgeDecision(question, found: found), found.map(\.title)))
            case .add(let title, let content, let questions):
                try db.chats.insertKnowledge([entry(title, content, questions, second: 100 + n)])
            case .edit(let title, let content):
                var stored = try #require(try db.chats.knowledgeEntry(orgId: "org_a", assistantId: "asst_a", id: ids[title] ?? ""))
                (stored.content, stored.updatedAt) = (content, chatStamp(100 + n))
                try db.chats.updateKnowledge(stored)
            case .delete(let title):
                try db.chats.deleteKnowledge(orgId: "org_a", assistantId: "asst_a", id: ids[title] ?? "", version: nil)
            }
        }
        return results
    }

    var expected: [(question: String, decision: KnowledgeDecision)] {
        steps.compactMap { if case .ask(let question, let decision) = $0 { (question, decision) } else { nil } }
    }
}

/// A knowledge base made like `make bench`'s (topics, each about three of fifteen subjects), from a fixed
/// seed: many entries share terms and lengths, so ranks tie often and common terms are left out.
struct GeneratedKnowledge {
    static let subjects = "admission tuition housing parking library transcript schedule deadline scholarship course exam campus advisor fee visa"
        .split(separator: " ").map(String.init)
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64: the same numbers on every platform, unlike the system generator.
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }

    mutating func entry(_ n: Int, assistant: String) -> KnowledgeEntry {
        var picked: [String] = []
        while picked.count < 3 {
            let subject = Self.subjects[next(Self.subjects.count)]
            if !picked.contains(subject) { picked.append(subject) }
        }
        let extra = next(4) == 0 ? " Ask the \(picked[0]) office about \(picked[0]) \(picked[1]) rules." : ""
        return knowledgeEntry(
            "kb_\(assistant)_\(n)", assistant: assistant, title: "Topic \(n): \(picked[0]) and \(picked[1])",
            content: "Answer \(n): everything about \(picked[0]), \(picked[1]) and \(picked[2]) for topic \(n).\(extra)",
            questions: next(3) == 0 ? [] : ["What about \(picked[0]) for topic \(n)?"], second: n)
    }

    mutating func question() -> String {
        let (a, b) = (Self.subjects[next(Self.subjects.count)], Self.subjects[next(Self.subjects.count)])
        switch next(4) {
        case 0: return "When is the \(a) deadline for topic \(next(300))?"
        case 1: return "How much does the \(a) \(b) cost?"
        case 2: return "Who do I contact about \(a) and \(b) rules?"
        default: return "\(a) \(b) \(Self.subjects[next(Self.subjects.count)]) for topic \(next(300))"
        }
    }
}
