@testable import EdmoAPI
import EdmoCore
@testable import EdmoProviders
import EdmoService
import Foundation
import GRDB
import Testing

@Suite struct ServerSentEventParserTests {
    static let stream = Array((
        "\u{FEFF}: a comment\r\nevent: content_block_delta\r\ndata: {\"text\":\"é\"}\r\n\r\n"
        + "data: one\ndata: two\n\nid: 7\nretry: 10\ndata:no-space\r\r" + "event: lonely\n\n" + "data: unfinished\n"
    ).utf8)
    static let expected = [
        ServerSentEventParser.Event(name: "content_block_delta", data: #"{"text":"é"}"#),
        .init(name: "message", data: "one\ntwo"),
        .init(name: "message", data: "no-space"),
    ]

    @Test func parsesEventsWhateverTheChunksAndLineEnds() {
        var whole = ServerSentEventParser()
        #expect(whole.feed(Self.stream) == Self.expected)
        // Cut at every byte (inside the CRLF, inside the two-byte é) and byte by byte.
        for cut in 0...Self.stream.count {
            var parser = ServerSentEventParser()
            let events = parser.feed(Self.stream[..<cut]) + parser.feed(Self.stream[cut...])
            #expect(events == Self.expected, "cut at \(cut)")
        }
        var bytewise = ServerSentEventParser()
        #expect(Self.stream.flatMap { bytewise.feed([$0]) } == Self.expected)
    }
}

@Suite struct ModelStreamTests {
    static func sse(_ body: String) -> [UInt8] {
        Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n\(body)".utf8)
    }

    static func client(_ kind: LLMClient.Kind, _ server: OneShotServer) -> LLMClient {
        LLMClient(kind: kind, baseURL: server.url + (kind == .openai ? "/v1" : ""), apiKey: "k", http: .local)
    }

    static func stream(_ client: LLMClient) throws -> (text: String, pieces: [String]) {
        var pieces: [String] = []
        let text = try client.stream(system: "s", messages: [.init(role: "user", content: "hi")], model: "m", temperature: nil, maxTokens: nil) {
            pieces.append($0)
        }
        return (text, pieces)
    }

    @Test func openAIDeltasUntilDone() throws {
        let chunk = { (text: String) in #"data: {"choices":[{"index":0,"delta":{"content":"\#(text)"},"finish_reason":null}]}"# + "\n\n" }
        let server = try OneShotServer(response: Self.sse(
            #"data: {"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"# + "\n\n"
            + chunk("Fall ") + ": keep-alive\n\n" + chunk("applications close.")
            + #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\ndata: [DONE]\n\n"))
        let (text, pieces) = try Self.stream(Self.client(.openai, server))
        #expect(pieces == ["Fall ", "applications close."] && text == "Fall applications close.")
        let request = server.received.withLock { $0 }
        #expect(request.hasPrefix("POST /v1/chat/completions ") && request.contains("Accept: text/event-stream"))
        #expect(request.contains(#""stream":true"#))
    }

    @Test func anthropicTextDeltasUntilMessageStop() throws {
        let server = try OneShotServer(response: Self.sse("""
            event: message_start\ndata: {"type":"message_start","message":{"id":"m"}}\n
            event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n
            event: ping\ndata: {"type":"ping"}\n
            event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}\n
            event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}\n
            event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n
            event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}\n
            event: message_stop\ndata: {"type":"message_stop"}\n

            """))
        let (text, pieces) = try Self.stream(Self.client(.anthropic, server))
        #expect(pieces == ["Hello", " there"] && text == "Hello there")
        #expect(server.received.withLock { $0 }.hasPrefix("POST /v1/messages "))
    }

    @Test func aStreamWithoutItsEndMarkerOrWithAnErrorEventFails() throws {
        let cut = try OneShotServer(response: Self.sse(#"data: {"choices":[{"delta":{"content":"Fall"}}]}"# + "\n\n"))
        #expect(throws: LLMError.failed("the stream ended before its end marker")) { try Self.stream(Self.client(.openai, cut)) }
        let overloaded = try OneShotServer(response: Self.sse(
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"))
        #expect(throws: LLMError.failed("the stream reported an error: Overloaded")) { try Self.stream(Self.client(.anthropic, overloaded)) }
        let refused = try OneShotServer(response: OneShotServer.http("429 Too Many Requests", #"{"error":{"message":"slow down"}}"#))
        #expect(throws: LLMError.failed("HTTP 429: slow down")) { try Self.stream(Self.client(.openai, refused)) }
    }

    @Test func aServerThatAnswersInOneJSONBodyGivesOnePiece() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", #"{"choices":[{"message":{"content":"All at once."}}]}"#))
        let (text, pieces) = try Self.stream(Self.client(.openai, server))
        #expect(pieces == ["All at once."] && text == "All at once.")
    }
}

@Suite struct GapMarkerFilterTests {
    /// Streamed in any pieces, the filter lets through exactly what `interpret` makes of the whole reply.
    @Test func piecesGiveWhatInterpretGivesTheWhole() {
        let replies = [
            "[[UNKNOWN]] I don't know that yet.", "  Plain answer.  \n", "Before [[UNKNOWN]] after", "[[UNKNOWN]]",
            "[[UNK but not the marker ]] [[", "x[[UNKNOWN]][[UNKNOWN]]y", "\n\n", "a  \n b", "[[UNK[[UNKNOWN]]NOWN]]", "",
        ]
        for reply in replies {
            let whole = ChatEngine.interpret(reply)
            let scalars = Array(reply.unicodeScalars)
            for size in 1...max(1, scalars.count) {
                var filter = GapMarkerFilter(marker: ChatEngine.unknownMarker)
                var out = ""
                for start in stride(from: 0, to: scalars.count, by: size) {
                    var piece = ""
                    piece.unicodeScalars.append(contentsOf: scalars[start..<min(start + size, scalars.count)])
                    out += filter.feed(piece)
                }
                out += filter.finish()
                #expect(out == whole.text && filter.sawMarker == whole.unanswered, "\(reply.debugDescription) in pieces of \(size)")
            }
        }
    }

    @Test func textIsLetThroughAsSoonAsItCannotBeTheMarker() {
        var filter = GapMarkerFilter(marker: ChatEngine.unknownMarker)
        #expect(filter.feed("Hello [[UN") == "Hello")
        #expect(filter.feed("til then") == " [[UNtil then")
        #expect(filter.feed("  ") == "")
        #expect(filter.finish() == "")
    }
}

@Suite struct ChatStreamRouteTests {
    static func events(_ response: Response) -> [(String, [String: Any])] {
        let text = String(decoding: response.serialized(), as: UTF8.self)
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return body.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            let lines = block.split(separator: "\n")
            let name = String(lines[0].dropFirst("event: ".count))
            let data = lines.dropFirst().map { $0.dropFirst("data: ".count) }.joined(separator: "\n")
            return (name, (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:])
        }
    }

    @Test func eventsAreOneDataLineEachAndLineBreaksWouldBeSplit() throws {
        #expect(String(decoding: try EventStream.event("delta", json: ["text": "a\nb"]), as: UTF8.self) == "event: delta\ndata: {\"text\":\"a\\nb\"}\n\n")
        #expect(String(decoding: EventStream.event("x", Array("{\n}".utf8)), as: UTF8.self) == "event: x\ndata: {\ndata: }\n\n")
    }

    @Test func theBuiltInEngineStreamsOneDeltaAndStoresIt() throws {
        // A response holds its stream slot until it is gone; this test keeps two.
        let s = try ChatSetup(configure: { $0.maxChatStreams = 2 })
        let body = #"{"assistantId":"\#(s.assistant)","message":"How much is tuition?","stream":true}"#
        let response = s.r.app.send("POST", "/api/chat", json: body, token: s.r.editor)
        #expect(response.status == 200 && response.header("Content-Type") == "text/event-stream; charset=utf-8")
        #expect(response.header("X-Accel-Buffering") == "no")
        let events = Self.events(response)
        #expect(events.map(\.0) == ["chat", "delta", "done"])
        let chatId = try #require(events.first?.1["chatId"] as? String)
        let text = try #require(events[1].1["text"] as? String)
        #expect(text.contains("$12,000") && events[2].1["message"] as? String == text && events[2].1["chatId"] as? String == chatId)
        #expect(events[2].1["knowledgeGap"] is NSNull && events[2].1["cost"] is NSNull)
        let stored = s.r.app.send("GET", "/api/chat/\(chatId)", token: s.r.viewer).json["messages"] as? [[String: Any]]
        #expect(stored?.last?["message"] as? String == text)

        let gap = Self.events(s.r.app.send(
            "POST", "/api/chat", json: #"{"assistantId":"\#(s.assistant)","message":"Is there a rowing club?"}"#, token: s.r.editor,
            headers: ["accept": "text/event-stream"]))
        #expect((gap.last?.1["knowledgeGap"] as? [String: Any])?["question"] as? String == "Is there a rowing club?", "\(gap)")
    }

    @Test func overTheCapIs503WithRetryAfterAndStoresNothing() throws {
        let s = try ChatSetup(configure: { $0.maxChatStreams = 1 })
        var held: CapacityGate.Slot? = try s.r.app.context.chatStreams.hold()
        let body = #"{"assistantId":"\#(s.assistant)","message":"How much is tuition?","stream":true}"#
        let refused = s.r.app.send("POST", "/api/chat", json: body, token: s.r.editor)
        #expect(refused.status == 503 && refused.header("Retry-After") == "1")
        #expect(refused.error == ServerBusyError.message)
        #expect(s.r.app.context.metricsText().contains(#"edmo_capacity_busy{gate="chat_streams"} 1"#))
        #expect(try s.r.app.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM conversations") } == 0)
        #expect(s.chat("How much is tuition?").status == 200)  // a plain turn is not capped
        #expect(held != nil)
        held = nil  // the slot frees itself
        #expect(s.r.app.send("POST", "/api/chat", json: body, token: s.r.editor).status == 200)
    }

    @Test func theStreamCapDefaultsToAQuarterOfTheWorkers() throws {
        var config = Config(database: ":memory:", secretKey: [])
        config.workers = 16
        #expect(config.chatStreamLimit == 4)
        config.workers = 2
        #expect(config.chatStreamLimit == 1)
        #expect(try Config.fromEnvironment(["EDMO_DATABASE": "x", "EDMO_MAX_CHAT_STREAMS": "3"], needsSecretKey: false).chatStreamLimit == 3)
        #expect(throws: ConfigError.self) { try Config.fromEnvironment(["EDMO_DATABASE": "x", "EDMO_MAX_CHAT_STREAMS": "0"], needsSecretKey: false) }
    }
}
