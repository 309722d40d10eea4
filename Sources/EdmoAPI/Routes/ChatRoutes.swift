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
        /// Answer as Server-Sent Events (addition; see `ChatStreamRoutes`).
        let stream: Bool?
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
        if ChatStreamRoutes.wanted(body, request) {
            return try ChatStreamRoutes.respond(orgId: principal.orgId, body, request, context)
        }
        let answer = try ChatService.turn(
            orgId: principal.orgId, assistantId: body.assistantId, message: body.message,
            previousChatId: body.previousChatId, requestId: request.requestId, context)
        return try Response.json(ChatResponse(message: answer.message, chatId: answer.chatId, cost: answer.cost, timestamp: answer.timestamp))
    }

    /// Every field present, null when unknown (the contract lists them all as required).
    struct ConversationJSON: Encodable {
        struct Message: Encodable { let role: String; let message: String; let time: String }
        let id: String
        @Nullable var assistantId: String?
        let channel: ConversationChannel
        let status: ConversationStatus
        let startedAt: String
        @Nullable var endedAt: String?
        @Nullable var endedReason: String?
        let durationSeconds: Int
        @Nullable var summary: String?
        @Nullable var successEvaluation: String?
        @Nullable var sentiment: Sentiment?
        @Nullable var resolution: Resolution?
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
              conversation.channel == .web
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
              conversation.channel == .web
        else { throw APIError.notFound("Chat") }
        if conversation.status != .ended {
            try ConversationAnalysis.end(conversation, reason: "customer-ended-chat", context)
        }
        let ended = try context.chats.conversation(orgId: principal.orgId, id: conversation.id)!
        return try Response.json(conversationJSON(ended, try context.chats.messages(conversationId: ended.id)))
    }
}
