import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// POST /api/chat answered as Server-Sent Events (`"stream": true` in the body, or
/// `Accept: text/event-stream`): `chat` (the chat id) once the user's message is stored, `delta` for each
/// piece of the answer as the engine produces it, then `done` (the stored message, as the plain answer has
/// it, and the knowledge gap if one was recorded), or `error` (the `{"error": ...}` a plain request would
/// have got) when the engine fails after the stream started. Everything that fails earlier (bad input,
/// no permission, the stream cap) is an ordinary JSON answer, and the cap is checked before anything is
/// stored.
///
/// A client that goes away mid-stream does not cut the turn short: the model is read to its end and the
/// whole answer is stored, as if the client had stayed (the conversation then holds a complete turn, and
/// `GET /api/chat/{chatId}` shows what the client missed). The worker stays busy until then, which is why
/// streams are capped (`EDMO_MAX_CHAT_STREAMS`).
enum ChatStreamRoutes {
    struct ChatEvent: Encodable { let chatId: String }
    struct DeltaEvent: Encodable { let text: String }
    struct DoneEvent: Encodable {
        let message: String
        let chatId: String
        @Nullable var cost: Double?
        let timestamp: String
        @Nullable var knowledgeGap: GapRoutes.GapJSON?
    }

    /// Whether the client asked for a stream: `stream` in the body decides; without it, the Accept header.
    static func wanted(_ body: ChatRoutes.ChatBody, _ request: Request) -> Bool {
        body.stream ?? (request.header("accept")?.lowercased().contains("text/event-stream") == true)
    }

    static func respond(orgId: String, _ body: ChatRoutes.ChatBody, _ request: Request, _ context: AppContext) throws -> Response {
        let slot = try context.chatStreams.hold()
        let pending = try ChatService.begin(
            orgId: orgId, assistantId: body.assistantId, message: body.message, previousChatId: body.previousChatId,
            requestId: request.requestId, context)
        return Response.streaming(contentType: EventStream.contentType) { writer in
            withExtendedLifetime(slot) {
                let client = Client(writer: writer, log: context.log, requestId: request.requestId)
                client.send("chat", json: ChatEvent(chatId: pending.conversationId))
                do {
                    let reply: EngineReply
                    do {
                        reply = try ChatEngine.stream(pending.turn, context) { client.send("delta", json: DeltaEvent(text: $0)) }
                    } catch {
                        throw ChatService.fail(pending, error, context)
                    }
                    let answer = try ChatService.finish(pending, reply, context)
                    client.send("done", json: DoneEvent(
                        message: answer.message, chatId: answer.chatId, cost: answer.cost, timestamp: answer.timestamp,
                        knowledgeGap: answer.gap.map(GapRoutes.GapJSON.init)))
                } catch {
                    // The one mapping of errors to messages (and its logging), as the data of an `error` event.
                    let failed = ErrorResponder.response(for: error, request: request, log: context.log, storageAlarm: context.storageAlarm)
                    client.send("error", data: failed.body)
                }
            }
        }
    }

    /// Writes and flushes each event. After the first failed write (the client went away) it writes no
    /// more, and the turn goes on to be stored.
    final class Client {
        let writer: any ResponseWriter
        let log: Logger
        let requestId: String
        private(set) var gone = false

        init(writer: any ResponseWriter, log: Logger, requestId: String) {
            self.writer = writer
            self.log = log
            self.requestId = requestId
        }

        func send<T: Encodable>(_ name: String, json value: T) {
            send(name, data: (try? JSON.encode(value)) ?? Array(#"{"error":"Internal server error"}"#.utf8))
        }

        func send(_ name: String, data: [UInt8]) {
            guard !gone else { return }
            do {
                try writer.write(EventStream.event(name, data))
                try writer.flush()
            } catch {
                gone = true
                log.info("request \(requestId): the client left the chat stream; the turn is still completed and stored")
            }
        }
    }
}
