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
    }

    public static func turn(
        orgId: String, assistantId: String, message rawMessage: String, previousChatId: String?, requestId: String,
        _ context: AppContext
    ) throws -> Answer {
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

        let reply: EngineReply
        do {
            reply = try ChatEngine.reply(turn, context)
        } catch {
            context.log.error("request \(requestId) chat \(conversation.id) assistant \(assistant.id): the assistant could not answer: \(error)")
            try? context.chats.appendMessages(
                conversationId: conversation.id,
                [ConversationMessage(role: .error, content: failureMessage(requestId), createdAt: Timestamp.format(context.now))],
                now: context.now, cost: nil, unanswered: 1, providerChatId: nil)
            switch error {
            // One answer for every upstream failure (a 502 saying the message was saved), never the upstream's text.
            case is LLMError, is ProviderError, is HTTPClientError: throw LLMError.failed("chat \(conversation.id): \(error)")
            default: throw error  // busy (503), or a bug (500)
            }
        }
        // A greeting or a thank-you is never a knowledge gap, whatever the engine says.
        let unanswered = reply.unanswered && !KnowledgeRules.isSmallTalk(message)
        if unanswered {
            _ = try context.chats.recordGap(
                orgId: orgId, assistantId: assistant.id, question: message,
                normalized: KnowledgeRules.normalize(message), newId: context.ids.next("gap"), now: context.now)
        }
        let answeredAt = Timestamp.format(context.now)
        try context.chats.appendMessages(
            conversationId: conversation.id, [ConversationMessage(role: .assistant, content: reply.text, createdAt: answeredAt)],
            now: context.now, cost: reply.cost, unanswered: unanswered ? 1 : 0, providerChatId: reply.providerChatId)
        return Answer(message: reply.text, chatId: conversation.id, cost: reply.cost, timestamp: answeredAt)
    }

    /// What a failed turn shows in the conversation: never the upstream's text, which is logged instead.
    public static func failureMessage(_ requestId: String) -> String {
        "The assistant could not answer (request \(requestId)). Try again later."
    }
}
