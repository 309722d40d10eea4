import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// What an ended conversation is given: summary, success, sentiment, resolution. From the assistant's
/// language model when one is configured (asked for a JSON verdict), else by the local rules below;
/// the local rules also stand in when the model fails. README "Conversation analysis" says the same.
public enum ConversationAnalysis {
    public static let positiveWords: Set<String> = [
        "thanks", "thank", "great", "perfect", "helpful", "awesome", "good", "love", "excellent", "appreciate",
        "wonderful", "amazing", "nice", "brilliant", "fantastic",
    ]
    public static let negativeWords: Set<String> = [
        "bad", "terrible", "useless", "angry", "wrong", "hate", "frustrated", "frustrating", "annoying", "awful",
        "disappointed", "unhelpful", "horrible", "worst", "ridiculous", "upset",
    ]
    public static let escalationPhrases = [
        "human", "real person", "an agent", "a person", "representative", "speak to someone", "talk to someone",
        "transfer me", "call me", "staff member", "operator",
    ]

    public static func analyze(
        _ conversation: ConversationRecord, _ messages: [ConversationMessage], endedReason: String, _ context: AppContext
    ) -> ConversationOutcome {
        let local = localOutcome(conversation, messages, endedReason: endedReason)
        guard let assistantId = conversation.assistantId,
              let record = try? context.resources.document(.assistant, orgId: conversation.orgId, id: assistantId),
              let config = try? Document(stored: record, localKeys: []).config,
              let model = try? JSONValue.object(config).decode(AssistantConfig.self).model,
              let llm = context.llm(for: model.provider)
        else { return local }
        do {
            return try modelOutcome(messages, llm: llm, model: model.model, endedReason: endedReason)
        } catch {
            context.log.error("conversation \(conversation.id): analysis by the language model failed, used the local rules: \(error)")
            return local
        }
    }

    /// sentiment: positive or negative words in the user's messages, whichever count is larger (else neutral);
    /// resolution: "escalated" when the user asked for a person, "failed" when the last answer was a gap or
    /// an error (or half the answers were), else "resolved"; success is "true" exactly when resolved.
    public static func localOutcome(_ conversation: ConversationRecord, _ messages: [ConversationMessage], endedReason: String) -> ConversationOutcome {
        let userText = userTexts(messages)
        let answers = messages.filter { $0.role != .user }.count
        let lastFailed = messages.last.map { $0.role == .error } ?? false
            || (conversation.unanswered > 0 && messages.last?.role == .assistant && lastAnswerWasGap(messages))
        let resolution: Resolution
        if userText.contains(where: { text in escalationPhrases.contains { text.contains($0) } }) {
            resolution = .escalated
        } else if lastFailed || (answers > 0 && conversation.unanswered * 2 >= answers) {
            resolution = .failed
        } else {
            resolution = .resolved
        }
        let first = messages.first { $0.role == .user }?.content ?? ""
        var summary = "Chat of \(messages.count) messages about \"\(first.prefix(80))\(first.count > 80 ? "..." : "")\""
        if conversation.unanswered > 0 { summary += "; \(conversation.unanswered) question(s) could not be answered" }
        return ConversationOutcome(
            summary: summary, successEvaluation: resolution == .resolved ? "true" : "false", sentiment: sentiment(of: messages),
            resolution: resolution, endedReason: endedReason)
    }

    /// The local sentiment rule alone: also what a call report without a declared sentiment is given.
    public static func sentiment(of messages: [ConversationMessage]) -> Sentiment {
        let userText = userTexts(messages)
        let words = userText.flatMap { $0.split(whereSeparator: { !$0.isLetter }).map(String.init) }
        let positive = words.filter(positiveWords.contains).count
        let negative = words.filter(negativeWords.contains).count + userText.filter { $0.contains("not helpful") }.count
        return positive > negative ? .positive : negative > positive ? .negative : .neutral
    }

    static func userTexts(_ messages: [ConversationMessage]) -> [String] {
        messages.filter { $0.role == .user }.map { $0.content.lowercased() }
    }

    public static func lastAnswerWasGap(_ messages: [ConversationMessage]) -> Bool {
        messages.last?.content.hasPrefix("I don't know the answer to that yet") ?? false
    }

    public static func modelOutcome(_ messages: [ConversationMessage], llm: LLMClient, model: String, endedReason: String) throws -> ConversationOutcome {
        let transcript = messages.filter { $0.role != .error }
            .map { ($0.role == .user ? "User: " : "Assistant: ") + $0.content }.joined(separator: "\n")
        let instruction = """
            You review finished support conversations. Answer with one JSON object and nothing else:
            {"summary": "<one or two sentences>", "successEvaluation": "true" or "false",
             "sentiment": "positive" | "neutral" | "negative", "resolution": "resolved" | "escalated" | "failed"}
            "escalated" means the user asked for a person; "failed" means their question was not answered.
            """
        let text = try llm.complete(
            system: instruction, messages: [LLMClient.Message(role: "user", content: String(transcript.suffix(12_000)))],
            model: model, temperature: 0, maxTokens: 300)
        guard let start = text.firstIndex(of: "{"), let end = text.lastIndex(of: "}"),
              let json = try? JSONValue.parse(Array(text[start...end].utf8)),
              let summary = json["summary"]?.stringValue,
              let sentiment = json["sentiment"]?.stringValue.flatMap(Sentiment.init(rawValue:)),
              let resolution = json["resolution"]?.stringValue.flatMap(Resolution.init(rawValue:))
        else { throw LLMError.failed("the analysis is not the JSON asked for") }
        let success: String
        switch json["successEvaluation"] {
        case .bool(let b)?: success = b ? "true" : "false"
        case .string(let s)?: success = s == "true" ? "true" : "false"
        default: success = resolution == .resolved ? "true" : "false"
        }
        return ConversationOutcome(
            summary: String(summary.prefix(1000)), successEvaluation: success, sentiment: sentiment, resolution: resolution,
            endedReason: endedReason)
    }

    /// Ends and analyses conversations idle for `EDMO_CHAT_IDLE_SECONDS`; `edmo serve` runs it every minute.
    /// With several hosts on one database, each sweep is claimed in the database, so one host analyses a
    /// conversation (a language-model call) and ends it, not each of them.
    public static func closeIdle(_ context: AppContext) {
        let cutoff = context.now.addingTimeInterval(-TimeInterval(context.config.chatIdleSeconds))
        do {
            guard try context.resources.claimJob("idle-chat-sweep", every: 30, now: context.now) else { return }
            for conversation in try context.chats.idleConversations(before: cutoff, limit: 500) {
                do {
                    try end(conversation, reason: "idle-timeout", context)
                } catch StoreError.notFound(_) {
                    continue  // erased, or removed by retention, since it was listed
                }
            }
        } catch {
            context.log.error("closing idle conversations failed: \(error)")
        }
    }

    public static func end(_ conversation: ConversationRecord, reason: String, _ context: AppContext) throws {
        let messages = try context.chats.messages(conversationId: conversation.id)
        let outcome = analyze(conversation, messages, endedReason: reason, context)
        try context.chats.endConversation(id: conversation.id, outcome: outcome, now: context.now) { ended in
            try OutboundEvents.conversation(context, EventType.conversationEnded, ended)
        }
    }
}
