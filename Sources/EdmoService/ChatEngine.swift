import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// One turn as an engine sees it.
public struct ChatTurn: Sendable {
    public var assistant: DocumentRecord
    public var config: AssistantConfig
    /// Earlier messages of the conversation, oldest first, capped.
    public var history: [ConversationMessage]
    public var message: String
    /// The best knowledge entries for the message, best first.
    public var knowledge: [KnowledgeEntry]
    public var coverage: Double
    public var previousProviderChatId: String?

    public init(
        assistant: DocumentRecord, config: AssistantConfig, history: [ConversationMessage], message: String, knowledge: [KnowledgeEntry], coverage: Double, previousProviderChatId: String? = nil
    ) {
        self.assistant = assistant
        self.config = config
        self.history = history
        self.message = message
        self.knowledge = knowledge
        self.coverage = coverage
        self.previousProviderChatId = previousProviderChatId
    }
}

public struct EngineReply {
    public var text: String
    /// The engine could not answer from what it knows: a knowledge gap.
    public var unanswered: Bool
    public var cost: Double?
    public var providerChatId: String?

    public init(
        text: String, unanswered: Bool, cost: Double? = nil, providerChatId: String? = nil
    ) {
        self.text = text
        self.unanswered = unanswered
        self.cost = cost
        self.providerChatId = providerChatId
    }
}

/// Chooses how an assistant answers: the voice platform's chat (vapi mode, assistant known there), the
/// OpenAI or Anthropic API when its key (or base URL) is configured, else the built-in engine.
public enum ChatEngine {
    public static let unknownMarker = "[[UNKNOWN]]"

    public static func reply(_ turn: ChatTurn, _ context: AppContext) throws -> EngineReply {
        if let platform = context.platform, let providerId = turn.assistant.providerId {
            return try platformReply(turn, platform, providerId)
        }
        if let llm = context.llm(for: turn.config.model.provider) {
            return try llmReply(llm, turn)
        }
        return builtIn(turn)
    }

    /// As `reply`, with the text handed to `emit` as it is produced: piece by piece from a language model's
    /// streaming API, in one piece from the voice platform and the built-in engine. The reply's text is
    /// exactly the pieces emitted, in order (the gap marker never shows: see `GapMarkerFilter`).
    public static func stream(_ turn: ChatTurn, _ context: AppContext, emit: (String) -> Void) throws -> EngineReply {
        let reply: EngineReply
        if let platform = context.platform, let providerId = turn.assistant.providerId {
            reply = try platformReply(turn, platform, providerId)
        } else if let llm = context.llm(for: turn.config.model.provider) {
            return try llmStream(llm, turn, emit: emit)
        } else {
            reply = builtIn(turn)
        }
        if !reply.text.isEmpty { emit(reply.text) }
        return reply
    }

    /// Quotes the best entry when it covers enough of the question; otherwise says so plainly.
    public static func builtIn(_ turn: ChatTurn) -> EngineReply {
        if KnowledgeRules.isSmallTalk(turn.message) {
            let text = KnowledgeRules.isGreeting(turn.message)
                ? "Hello! What would you like to know?" : "You're welcome! Is there anything else I can help with?"
            return EngineReply(text: text, unanswered: false)
        }
        guard let best = turn.knowledge.first, turn.coverage >= KnowledgeRules.minimumCoverage else {
            return EngineReply(
                text: "I don't know the answer to that yet. I've noted your question so the team can add it to what I know.",
                unanswered: true)
        }
        return EngineReply(text: best.content, unanswered: false)
    }

    public static func platformReply(_ turn: ChatTurn, _ platform: any VoicePlatformAPI, _ providerId: String) throws -> EngineReply {
        var body: [String: JSONValue] = ["assistantId": .string(providerId), "input": .string(turn.message)]
        if let previous = turn.previousProviderChatId { body["previousChatId"] = .string(previous) }
        let answer = try platform.create("chat", .object(body))
        guard case .array(let output)? = answer["output"],
              let text = output.last(where: { $0["role"]?.stringValue == "assistant" })?["content"]?.stringValue
        else { throw ProviderError.failed("the platform's chat answer has no assistant output") }
        var cost: Double?
        switch answer["cost"] {
        case .double(let d)?: cost = d
        case .int(let i)?: cost = Double(i)
        default: cost = nil
        }
        return EngineReply(text: text, unanswered: false, cost: cost, providerChatId: answer["id"]?.stringValue)
    }

    /// The system prompt for an LLM: the assistant's own, then the knowledge it may use, then the rule
    /// that marks a gap.
    public static func systemPrompt(_ turn: ChatTurn) -> String {
        var parts = (turn.config.model.messages ?? []).filter { $0.role == .system }.map(\.content)
        if !turn.knowledge.isEmpty {
            let entries = turn.knowledge.enumerated().map { i, e in "[\(i + 1)] \(e.title)\n\(e.content)" }
            parts.append("Knowledge base (answer from it when it applies):\n" + entries.joined(separator: "\n\n"))
        }
        parts.append(
            "If the knowledge base and your instructions do not contain the answer, start your reply with \(unknownMarker) and say that you do not know yet.")
        return parts.joined(separator: "\n\n")
    }

    /// Asks a language model: the system prompt (instructions and knowledge), the history and the message.
    public static func llmReply(_ llm: LLMClient, _ turn: ChatTurn) throws -> EngineReply {
        let model = turn.config.model
        let text = try llm.complete(
            system: systemPrompt(turn), messages: llmMessages(turn), model: model.model,
            temperature: model.temperature, maxTokens: model.maxTokens)
        let (answer, unanswered) = interpret(text)
        return EngineReply(text: answer, unanswered: unanswered)
    }

    /// As `llmReply` over the API's streaming mode; the pieces pass through `GapMarkerFilter`, so the
    /// text emitted (and returned) is what `interpret` makes of the whole reply.
    public static func llmStream(_ llm: LLMClient, _ turn: ChatTurn, emit: (String) -> Void) throws -> EngineReply {
        let model = turn.config.model
        var filter = GapMarkerFilter(marker: unknownMarker)
        var text = ""
        func pass(_ piece: String) {
            guard !piece.isEmpty else { return }
            text += piece
            emit(piece)
        }
        _ = try llm.stream(
            system: systemPrompt(turn), messages: llmMessages(turn), model: model.model,
            temperature: model.temperature, maxTokens: model.maxTokens) { pass(filter.feed($0)) }
        pass(filter.finish())
        return EngineReply(text: text, unanswered: filter.sawMarker)
    }

    /// The history (without error lines) and the message, as the model APIs take them.
    static func llmMessages(_ turn: ChatTurn) -> [LLMClient.Message] {
        var messages = turn.history.compactMap { m -> LLMClient.Message? in
            switch m.role {
            case .user: LLMClient.Message(role: "user", content: m.content)
            case .assistant: LLMClient.Message(role: "assistant", content: m.content)
            case .error: nil
            }
        }
        messages.append(LLMClient.Message(role: "user", content: turn.message))
        return messages
    }

    /// Strips the gap marker from an LLM's text.
    public static func interpret(_ text: String) -> (text: String, unanswered: Bool) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.contains(unknownMarker) else { return (trimmed, false) }
        return (trimmed.replacingOccurrences(of: unknownMarker, with: "").trimmingCharacters(in: .whitespacesAndNewlines), true)
    }
}
