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
        switch kind {
        case .openai: return try openAI(system: system, messages: messages, model: model, temperature: temperature, maxTokens: maxTokens)
        case .anthropic: return try anthropic(system: system, messages: messages, model: model, temperature: temperature, maxTokens: maxTokens)
        }
    }

    func openAI(system: String, messages: [Message], model: String, temperature: Double?, maxTokens: Int?) throws -> String {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array([.object(["role": "system", "content": .string(system)])]
                + messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
        ]
        if let temperature { body["temperature"] = .double(temperature) }
        if let maxTokens { body["max_tokens"] = .int(maxTokens) }
        var headers = ["Content-Type: application/json"]
        if let apiKey { headers.append("Authorization: Bearer \(apiKey)") }
        let answer = try post("/chat/completions", headers: headers, body: .object(body))
        guard case .array(let choices)? = answer["choices"], let text = choices.first?["message"]?["content"]?.stringValue else {
            throw LLMError.failed("the answer has no choices[0].message.content")
        }
        return text
    }

    func anthropic(system: String, messages: [Message], model: String, temperature: Double?, maxTokens: Int?) throws -> String {
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
        let answer = try post("/v1/messages", headers: headers, body: .object(body))
        guard case .array(let content)? = answer["content"] else { throw LLMError.failed("the answer has no content") }
        let text = content.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
        guard !text.isEmpty else { throw LLMError.failed("the answer has no text") }
        return text
    }

    func post(_ path: String, headers: [String], body: JSONValue) throws -> JSONValue {
        let response: HTTPResponse
        do {
            response = try http.send(method: "POST", url: baseURL + path, headers: headers, body: try JSON.encode(body))
        } catch let error as HTTPClientError {
            throw LLMError.failed(error.description)
        }
        guard (200..<300).contains(response.status) else {
            let detail = (try? JSONValue.parse(response.body)).flatMap { $0["error"]?["message"]?.stringValue } ?? "no details"
            throw LLMError.failed("HTTP \(response.status): \(String(detail.prefix(300)))")
        }
        guard let value = try? JSONValue.parse(response.body) else { throw LLMError.failed("unreadable answer (not JSON)") }
        return value
    }
}
