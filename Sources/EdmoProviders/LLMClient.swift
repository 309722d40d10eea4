import EdmoCore
import Foundation

/// A failure of the language model API; always a 502 for the client, with the reason in the log.
public enum LLMError: Error, Equatable, CustomStringConvertible {
    case failed(String)
    public var description: String {
        switch self { case .failed(let why): "language model unavailable: \(why)" }
    }
}

/// The OpenAI Chat Completions API (or any server that speaks it: llama.cpp, vLLM, ...) and the Anthropic
/// Messages API, over the one HTTP client.
public struct LLMClient: Sendable {
    public enum Kind: Sendable { case openai, anthropic }
    public var kind: Kind
    public var baseURL: String
    var apiKey: String?
    var http: HTTPClient

    public init(kind: Kind, baseURL: String, apiKey: String?, http: HTTPClient) {
        self.kind = kind
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.http = http
    }

    /// One message of the conversation so far.
    public struct Message: Sendable, Equatable {
        public var role: String  // "user" | "assistant"
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// The model's plain reply to `messages` under the `system` prompt.
    public func complete(system: String, messages: [Message], model: String, temperature: Double?, maxTokens: Int?) throws -> String {
        let request = self.request(system: system, messages: messages, model: model, temperature: temperature, maxTokens: maxTokens, stream: false)
        return try text(of: try post(request.path, headers: request.headers, body: request.body))
    }

    /// As `complete`, with the API's streaming mode: `onText` gets each piece of the reply as the model
    /// produces it, and the whole reply is returned. A server that answers with one JSON body instead of
    /// an event stream gives its text as one piece. A stream that breaks off before its end marker
    /// (`data: [DONE]`, `message_stop`) or reports an error throws, whatever it had sent.
    public func stream(
        system: String, messages: [Message], model: String, temperature: Double?, maxTokens: Int?, onText: (String) throws -> Void
    ) throws -> String {
        let request = self.request(system: system, messages: messages, model: model, temperature: temperature, maxTokens: maxTokens, stream: true)
        var reader = StreamReader(kind: kind)
        let response = try withoutActuallyEscaping(onText) { onText in
            try send(request.path, headers: request.headers, body: request.body) { events in
                for event in events {
                    if let piece = try reader.read(event), !piece.isEmpty {
                        reader.text += piece
                        try onText(piece)
                    }
                }
            }
        }
        guard response.streamed else {
            let text = try text(of: try answer(response))
            try onText(text)
            return text
        }
        guard reader.finished else { throw LLMError.failed("the stream ended before its end marker") }
        return reader.text
    }

    /// The pieces of text in an OpenAI or Anthropic event stream, and whether its end marker came.
    struct StreamReader {
        let kind: Kind
        var text = ""
        var finished = false

        mutating func read(_ event: ServerSentEventParser.Event) throws -> String? {
            if kind == .openai && event.data == "[DONE]" {
                finished = true
                return nil
            }
            guard let value = try? JSONValue.parse(Array(event.data.utf8)) else {
                throw LLMError.failed("unreadable stream event (not JSON)")
            }
            if let message = value["error"]?["message"]?.stringValue ?? (event.name == "error" ? "no details" : nil) {
                throw LLMError.failed("the stream reported an error: \(String(message.prefix(300)))")
            }
            switch kind {
            case .openai:
                guard case .array(let choices)? = value["choices"], let choice = choices.first else { return nil }
                if let reason = choice["finish_reason"], reason != .null { finished = true }
                return choice["delta"]?["content"]?.stringValue
            case .anthropic:
                // The event's name and its data's `type` agree; servers that send only `data:` lines have the type.
                let type = event.name == "message" ? value["type"]?.stringValue : event.name
                switch type {
                case "content_block_delta": return value["delta"]?["text"]?.stringValue
                case "message_stop": finished = true
                default: break  // message_start, content_block_start/stop, message_delta, ping
                }
                return nil
            }
        }
    }

    struct APIRequest {
        var path: String
        var headers: [String]
        var body: JSONValue
    }

    func request(system: String, messages: [Message], model: String, temperature: Double?, maxTokens: Int?, stream: Bool) -> APIRequest {
        var request: APIRequest
        switch kind {
        case .openai: request = openAI(system: system, messages: messages, model: model, temperature: temperature, maxTokens: maxTokens)
        case .anthropic: request = anthropic(system: system, messages: messages, model: model, temperature: temperature, maxTokens: maxTokens)
        }
        if stream, case .object(var fields) = request.body {
            fields["stream"] = .bool(true)
            request.body = .object(fields)
            request.headers.append("Accept: text/event-stream")
        }
        return request
    }

    /// The reply's text in a complete (not streamed) answer.
    func text(of answer: JSONValue) throws -> String {
        switch kind {
        case .openai:
            guard case .array(let choices)? = answer["choices"], let text = choices.first?["message"]?["content"]?.stringValue else {
                throw LLMError.failed("the answer has no choices[0].message.content")
            }
            return text
        case .anthropic:
            guard case .array(let content)? = answer["content"] else { throw LLMError.failed("the answer has no content") }
            let text = content.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
            guard !text.isEmpty else { throw LLMError.failed("the answer has no text") }
            return text
        }
    }

    func openAI(system: String, messages: [Message], model: String, temperature: Double?, maxTokens: Int?) -> APIRequest {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array([.object(["role": "system", "content": .string(system)])]
                + messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
        ]
        if let temperature { body["temperature"] = .double(temperature) }
        if let maxTokens { body["max_tokens"] = .int(maxTokens) }
        var headers = ["Content-Type: application/json"]
        if let apiKey { headers.append("Authorization: Bearer \(apiKey)") }
        return APIRequest(path: "/chat/completions", headers: headers, body: .object(body))
    }

    func anthropic(system: String, messages: [Message], model: String, temperature: Double?, maxTokens: Int?) -> APIRequest {
        // The Messages API wants alternating turns that start with the user: fold the rest in.
        var turns: [Message] = []
        var preamble: [String] = []
        for message in messages {
            if turns.isEmpty && message.role == "assistant" {
                preamble.append(message.content)
            } else if let last = turns.last, last.role == message.role {
                turns[turns.count - 1].content += "\n\n" + message.content
            } else {
                turns.append(message)
            }
        }
        let systemText = preamble.isEmpty ? system : system + "\n\nYou opened the conversation with: " + preamble.joined(separator: "\n")
        var body: [String: JSONValue] = [
            "model": .string(model),
            "system": .string(systemText),
            "max_tokens": .int(maxTokens ?? 1024),
            "messages": .array(turns.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
        ]
        if let temperature { body["temperature"] = .double(min(temperature, 1)) }
        var headers = ["Content-Type: application/json", "anthropic-version: 2023-06-01"]
        if let apiKey { headers.append("x-api-key: \(apiKey)") }
        return APIRequest(path: "/v1/messages", headers: headers, body: .object(body))
    }

    func post(_ path: String, headers: [String], body: JSONValue) throws -> JSONValue {
        try answer(try send(path, headers: headers, body: body, onEvents: nil))
    }

    func send(
        _ path: String, headers: [String], body: JSONValue, onEvents: (([ServerSentEventParser.Event]) throws -> Void)?
    ) throws -> HTTPResponse {
        do {
            return try http.stream(method: "POST", url: baseURL + path, headers: headers, body: try JSON.encode(body), onEvents: onEvents)
        } catch let error as HTTPClientError {
            throw LLMError.failed(error.description)
        }
    }

    /// A collected answer's JSON, or the failure its status says.
    func answer(_ response: HTTPResponse) throws -> JSONValue {
        guard (200..<300).contains(response.status) else {
            let detail = (try? JSONValue.parse(response.body)).flatMap { $0["error"]?["message"]?.stringValue } ?? "no details"
            throw LLMError.failed("HTTP \(response.status): \(String(detail.prefix(300)))")
        }
        guard let value = try? JSONValue.parse(response.body) else { throw LLMError.failed("unreadable answer (not JSON)") }
        return value
    }
}
