import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// One chat turn, start to end: the user's message is stored before any engine runs (whatever happens
/// next, it is not lost), the engine answers (see `ChatEngine`), an unanswered question becomes a
/// knowledge gap, and the answer is stored. A failing engine leaves a generic line with the request id in
/// the conversation; the upstream's own text (which may name accounts, hosts, quotas) goes to the log only.
public enum ChatService {
    public struct Answer: Sendable {
        public var message: String
        public var chatId: String
        public var cost: Double?
        public var timestamp: String
        /// The knowledge gap the turn recorded (or counted once more), if the assistant could not answer.
        public var gap: KnowledgeGap?
    }

    /// A turn whose user message is stored and whose engine has yet to answer: `begin` makes it, then
    /// `finish` or `fail` ends it. The plain and the streamed answer share these three steps, so a turn is
    /// stored the same way whichever the client asked for.
    public struct Pending: Sendable {
        public var orgId: String
        public var conversationId: String
        public var requestId: String
        public var turn: ChatTurn
    }

    public static func turn(
        orgId: String, assistantId: String, message: String, previousChatId: String?, requestId: String,
        _ context: AppContext
    ) throws -> Answer {
        let pending = try begin(orgId: orgId, assistantId: assistantId, message: message, previousChatId: previousChatId, requestId: requestId, context)
        let reply: EngineReply
        do {
            reply = try ChatEngine.reply(pending.turn, context)
        } catch {
            throw fail(pending, error, context)
        }
        return try finish(pending, reply, context)
    }

    /// Checks the request, stores the user's message (in a new conversation or the one named) and gathers
    /// what the engine needs.
    public static func begin(
        orgId: String, assistantId: String, message rawMessage: String, previousChatId: String?, requestId: String,
        _ context: AppContext
    ) throws -> Pending {
        let message = rawMessage.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !message.isEmpty else { throw ValidationFailure("Missing required field: message") }
        guard message.count <= context.config.chatMaxMessageChars else {
            throw ValidationFailure("Invalid value for field: message (at most \(context.config.chatMaxMessageChars) characters)")
        }
        guard !assistantId.isEmpty else { throw ValidationFailure("Missing required field: assistantId") }
        guard let assistant = try context.resources.document(.assistant, orgId: orgId, id: assistantId) else {
            throw StoreError.notFound("Assistant")
        }
        let config = try JSONValue.object(try Document(stored: assistant, localKeys: []).config).decode(AssistantConfig.self)
        let now = context.now
        let stamp = Timestamp.format(now)
        let userMessage = ConversationMessage(role: .user, content: message, createdAt: stamp)

        var history: [ConversationMessage] = []
        let conversation: ConversationRecord
        if let previous = previousChatId, !previous.isEmpty {
            guard let existing = try context.chats.conversation(orgId: orgId, id: previous), existing.channel == .web else {
                throw StoreError.notFound("Chat")
            }
            guard existing.assistantId == assistant.id else {
                throw ValidationFailure("Invalid value for field: previousChatId (a chat with another assistant)")
            }
            conversation = existing
            history = try context.chats.messages(conversationId: existing.id)
            try context.chats.appendMessages(
                conversationId: existing.id, [userMessage], now: now, cost: nil, unanswered: 0, providerChatId: nil)
        } else {
            var opening: [ConversationMessage] = []
            if config.firstMessageMode != .waitsForUser, let first = config.firstMessage, !first.isEmpty {
                opening.append(ConversationMessage(role: .assistant, content: first, createdAt: stamp))
            }
            conversation = .webChat(id: context.ids.next("chat"), orgId: orgId, assistantId: assistant.id, at: stamp)
            history = opening
            try context.chats.startConversation(conversation, messages: opening + [userMessage])
        }

        let knowledge = try context.chats.searchKnowledge(assistantId: assistant.id, terms: KnowledgeRules.searchTerms(message), limit: 3)
        let turn = ChatTurn(
            assistant: assistant, config: config,
            history: Array(history.filter { $0.role != .error }.suffix(context.config.chatHistoryMessages)),
            message: message, knowledge: knowledge,
            coverage: knowledge.first.map { KnowledgeRules.coverage(of: message, by: $0) } ?? 0,
            previousProviderChatId: conversation.providerChatId)
        return Pending(orgId: orgId, conversationId: conversation.id, requestId: requestId, turn: turn)
    }

    /// Records the engine's failure in the conversation (a generic line; the upstream's text goes to the
    /// log) and returns the error to throw.
    public static func fail(_ pending: Pending, _ error: Error, _ context: AppContext) -> Error {
        context.log.error(
            "request \(pending.requestId) chat \(pending.conversationId) assistant \(pending.turn.assistant.id): the assistant could not answer: \(error)")
        try? context.chats.appendMessages(
            conversationId: pending.conversationId,
            [ConversationMessage(role: .error, content: failureMessage(pending.requestId), createdAt: Timestamp.format(context.now))],
            now: context.now, cost: nil, unanswered: 1, providerChatId: nil)
        switch error {
        // One answer for every upstream failure (a 502 saying the message was saved), never the upstream's text.
        case is LLMError, is ProviderError, is HTTPClientError: return LLMError.failed("chat \(pending.conversationId): \(error)")
        default: return error  // busy (503), or a bug (500)
        }
    }

    /// Stores the engine's answer, and a knowledge gap when it could not answer.
    public static func finish(_ pending: Pending, _ reply: EngineReply, _ context: AppContext) throws -> Answer {
        let message = pending.turn.message
        // A greeting or a thank-you is never a knowledge gap, whatever the engine says.
        let unanswered = reply.unanswered && !KnowledgeRules.isSmallTalk(message)
        var gap: KnowledgeGap?
        if unanswered {
            let gapId = context.ids.next("gap")
            let event = try OutboundEvents.gap(
                context, orgId: pending.orgId, id: gapId, assistantId: pending.turn.assistant.id, question: message,
                conversationId: pending.conversationId)
            gap = try context.chats.recordGap(
                orgId: pending.orgId, assistantId: pending.turn.assistant.id, question: message,
                normalized: KnowledgeRules.normalize(message), newId: gapId, now: context.now, event: event)
        }
        let answeredAt = Timestamp.format(context.now)
        try context.chats.appendMessages(
            conversationId: pending.conversationId, [ConversationMessage(role: .assistant, content: reply.text, createdAt: answeredAt)],
            now: context.now, cost: reply.cost, unanswered: unanswered ? 1 : 0, providerChatId: reply.providerChatId)
        return Answer(message: reply.text, chatId: pending.conversationId, cost: reply.cost, timestamp: answeredAt, gap: gap)
    }

    /// What a failed turn shows in the conversation: never the upstream's text, which is logged instead.
    public static func failureMessage(_ requestId: String) -> String {
        "The assistant could not answer (request \(requestId)). Try again later."
    }
}
