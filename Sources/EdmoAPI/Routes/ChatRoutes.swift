import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// POST /api/chat (the seed's), plus GET /api/chat/{chatId} and POST /api/chat/{chatId}/end (additions).
/// A chat is a conversation: `chatId` stays the same across turns; send it back as `previousChatId`.
enum ChatRoutes {
    struct ChatBody: Decodable {
        let assistantId: String
        let message: String
        let previousChatId: String?
    }

    struct ChatResponse: Encodable {
        let message: String
        let chatId: String
        @Nullable var cost: Double?
        let timestamp: String
    }

    static func chat(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.chat, .use, request, context)
        let body = try JSON.decode(ChatBody.self, from: request)
        let message = body.message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !message.isEmpty else { throw APIError.badRequest("Missing required field: message") }
        guard message.count <= context.config.chatMaxMessageChars else {
            throw APIError.badRequest("Invalid value for field: message (at most \(context.config.chatMaxMessageChars) characters)")
        }
        guard !body.assistantId.isEmpty else { throw APIError.badRequest("Missing required field: assistantId") }
        guard let assistant = try context.resources.document(.assistant, orgId: principal.orgId, id: body.assistantId) else {
            throw APIError.notFound("Assistant")
        }
        let config = try JSONValue.object(try Document(stored: assistant, localKeys: []).config).decode(AssistantConfig.self)
        let now = context.now
        let stamp = Timestamp.format(now)
        let userMessage = ConversationMessage(role: .user, content: message, createdAt: stamp)

        // The user's message is stored before any engine runs: whatever happens next, it is not lost.
        var history: [ConversationMessage] = []
        let conversation: ConversationRecord
        if let previous = body.previousChatId, !previous.isEmpty {
            guard let existing = try context.chats.conversation(orgId: principal.orgId, id: previous), existing.channel == "web" else {
                throw APIError.notFound("Chat")
            }
            guard existing.assistantId == assistant.id else {
                throw APIError.badRequest("Invalid value for field: previousChatId (a chat with another assistant)")
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
            conversation = ConversationRecord(
                id: context.ids.next("chat"), orgId: principal.orgId, assistantId: assistant.id, phoneNumberId: nil,
                channel: "web", type: "webChat", status: "in-progress", endedReason: nil, startedAt: stamp, endedAt: nil,
                lastActivityAt: stamp, durationSeconds: 0, sentiment: nil, resolution: nil, summary: nil,
                successEvaluation: nil, transcript: nil, recordingUrl: nil, stereoRecordingUrl: nil, customerNumber: nil,
                cost: nil, providerChatId: nil, unanswered: 0, createdAt: stamp, updatedAt: stamp)
            history = opening
            try context.chats.startConversation(conversation, messages: opening + [userMessage])
        }

        let knowledge: [KnowledgeEntry]
        let coverage: Double
        knowledge = try context.chats.searchKnowledge(assistantId: assistant.id, terms: KnowledgeRules.searchTerms(message), limit: 3)
        coverage = knowledge.first.map { KnowledgeRules.coverage(of: message, by: $0) } ?? 0
        let turn = ChatTurn(
            assistant: assistant, config: config,
            history: Array(history.filter { $0.role != .error }.suffix(context.config.chatHistoryMessages)),
            message: message, knowledge: knowledge, coverage: coverage, previousProviderChatId: conversation.providerChatId)

        let reply: EngineReply
        do {
            reply = try ChatEngine.reply(turn, context)
        } catch {
            // The failure is part of the conversation, visible to whoever reviews it, but only as a generic
            // line with the request id: the upstream's own text (which may name accounts, hosts, quotas) goes
            // to the server log only.
            context.log.error("request \(request.requestId) chat \(conversation.id) assistant \(assistant.id): the assistant could not answer: \(error)")
            try? context.chats.appendMessages(
                conversationId: conversation.id,
                [ConversationMessage(role: .error, content: Self.failureMessage(request), createdAt: Timestamp.format(context.now))],
                now: context.now, cost: nil, unanswered: 1, providerChatId: nil)
            // "Nothing was changed" would be wrong here: the user's message is saved. Logged above already.
            switch error {
            case is LLMError, is ProviderError, is HTTPClientError: throw APIError(502, Self.unavailableMessage)
            default: throw error  // busy (503), or a bug (500)
            }
        }
        // A greeting or a thank-you is never a knowledge gap, whatever the engine says.
        let unanswered = reply.unanswered && !KnowledgeRules.isSmallTalk(message)
        if unanswered {
            _ = try context.chats.recordGap(
                orgId: principal.orgId, assistantId: assistant.id, question: message,
                normalized: KnowledgeRules.normalize(message), newId: context.ids.next("gap"), now: context.now)
        }
        let answeredAt = Timestamp.format(context.now)
        try context.chats.appendMessages(
            conversationId: conversation.id, [ConversationMessage(role: .assistant, content: reply.text, createdAt: answeredAt)],
            now: context.now, cost: reply.cost, unanswered: unanswered ? 1 : 0, providerChatId: reply.providerChatId)
        return try Response.json(ChatResponse(message: reply.text, chatId: conversation.id, cost: reply.cost, timestamp: answeredAt))
    }

    static let unavailableMessage = "The assistant's language model did not answer; your message was saved. Try again later."

    /// What a failed turn shows in the conversation: never the upstream's text, which is logged instead.
    static func failureMessage(_ request: Request) -> String {
        "The assistant could not answer (request \(request.requestId)). Try again later."
    }

    /// Every field present, null when unknown (the contract lists them all as required).
    struct ConversationJSON: Encodable {
        struct Message: Encodable { let role: String; let message: String; let time: String }
        let id: String
        @Nullable var assistantId: String?
        let channel: String
        let status: String
        let startedAt: String
        @Nullable var endedAt: String?
        @Nullable var endedReason: String?
        let durationSeconds: Int
        @Nullable var summary: String?
        @Nullable var successEvaluation: String?
        @Nullable var sentiment: String?
        @Nullable var resolution: String?
        @Nullable var cost: Double?
        let messages: [Message]
    }

    static func conversationJSON(_ c: ConversationRecord, _ messages: [ConversationMessage]) -> ConversationJSON {
        ConversationJSON(
            id: c.id, assistantId: c.assistantId, channel: c.channel, status: c.status, startedAt: c.startedAt,
            endedAt: c.endedAt, endedReason: c.endedReason, durationSeconds: c.durationSeconds, summary: c.summary,
            successEvaluation: c.successEvaluation, sentiment: c.sentiment, resolution: c.resolution, cost: c.cost,
            messages: messages.map { .init(role: $0.role.rawValue, message: $0.content, time: $0.createdAt) })
    }

    static func find(_ request: Request, _ context: AppContext) throws -> (Principal, ConversationRecord) {
        let principal = try Authenticator.require(.agents, .read, request, context)
        guard let conversation = try context.chats.conversation(orgId: principal.orgId, id: request.param("chatId")),
              conversation.channel == "web"
        else { throw APIError.notFound("Chat") }
        return (principal, conversation)
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        let (_, conversation) = try find(request, context)
        return try Response.json(conversationJSON(conversation, try context.chats.messages(conversationId: conversation.id)))
    }

    /// Ends the chat now (it would otherwise end after EDMO_CHAT_IDLE_SECONDS) and returns it analysed.
    static func end(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.chat, .use, request, context)
        guard let conversation = try context.chats.conversation(orgId: principal.orgId, id: request.param("chatId")),
              conversation.channel == "web"
        else { throw APIError.notFound("Chat") }
        if conversation.status != "ended" {
            try ConversationAnalysis.end(conversation, reason: "customer-ended-chat", context)
        }
        let ended = try context.chats.conversation(orgId: principal.orgId, id: conversation.id)!
        return try Response.json(conversationJSON(ended, try context.chats.messages(conversationId: ended.id)))
    }
}
