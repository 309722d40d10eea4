import Foundation

/// What a client may set on an assistant (the seed's CreateAssistantRequest plus `model.messages`).
/// Unknown fields are dropped; the server's fields (`ServerFields.document`) are never taken from a body.
public struct AssistantConfig: DocumentConfig, Codable, Equatable {
    /// The fields the seed marks nullable; a null anywhere else in a create body is a 400. (The seed marks
    /// `firstMessageMode` nullable but its enum has no null, so OpenAPI 3.0 forbids null there.)
    public static let nullableFields: Set<String> = [
        "firstMessage", "transcriber.model", "voicemailMessage", "endCallMessage",
        "endCallPhrases", "metadata", "metadata.*", "maxDurationSeconds", "backgroundSound", "recordingEnabled",
    ]

    public var name: String?
    public var firstMessage: String?
    public var firstMessageMode: FirstMessageMode?
    public var model: ModelConfig
    public var voice: VoiceConfig
    public var transcriber: TranscriberConfig?
    public var voicemailMessage: String?
    public var endCallMessage: String?
    public var endCallPhrases: [String]?
    public var metadata: [String: JSONValue]?
    public var maxDurationSeconds: Int?
    /// Additions (Vapi-compatible): ambient sound on calls, and whether calls are recorded.
    public var backgroundSound: BackgroundSound?
    public var recordingEnabled: Bool?

    public enum BackgroundSound: String, Codable, Sendable { case off, office }

    public enum FirstMessageMode: String, Codable, Sendable {
        case speaksFirst = "assistant-speaks-first"
        case waitsForUser = "assistant-waits-for-user"
        case speaksFirstGenerated = "assistant-speaks-first-with-model-generated-message"
    }

    public struct ModelConfig: Codable, Equatable, Sendable {
        public enum Provider: String, Codable, Sendable { case openai, anthropic }
        public var provider: Provider
        public var model: String
        public var temperature: Double?
        public var maxTokens: Int?
        /// The system prompt as Vapi-compatible platforms take it: `[{"role": "system", "content": "..."}]`.
        public var messages: [Message]?
    }

    public struct Message: Codable, Equatable, Sendable {
        public enum Role: String, Codable, Sendable { case system, user, assistant }
        public var role: Role
        public var content: String
    }

    public struct VoiceConfig: Codable, Equatable, Sendable {
        public enum Provider: String, Codable, Sendable {
            case elevenLabs = "11labs", azure, cartesia, deepgram, playht, openai, edmo
        }
        public var provider: Provider?
        public var voiceId: String?
    }

    public struct TranscriberConfig: Codable, Equatable, Sendable {
        public enum Provider: String, Codable, Sendable { case deepgram, assemblyai, whisper }
        public var provider: Provider?
        public var model: String?
    }

    public func validate() throws {
        try Validate.text(name, field: "name", max: 200)
        try Validate.text(firstMessage, field: "firstMessage", max: 10_000)
        try Validate.text(voicemailMessage, field: "voicemailMessage", max: 10_000)
        try Validate.text(endCallMessage, field: "endCallMessage", max: 10_000)
        try Validate.nonEmpty(model.model, field: "model.model", max: 200)
        if let t = model.temperature, !(0...2).contains(t) {
            throw ValidationFailure("Invalid value for field: model.temperature (0 to 2)")
        }
        if let m = model.maxTokens, !(1...100_000).contains(m) {
            throw ValidationFailure("Invalid value for field: model.maxTokens (1 to 100000)")
        }
        if let messages = model.messages {
            guard messages.count <= 50 else { throw ValidationFailure("Invalid value for field: model.messages (at most 50)") }
            for (i, message) in messages.enumerated() {
                try Validate.text(message.content, field: "model.messages[\(i)].content", max: 100_000)
            }
        }
        try Validate.text(voice.voiceId, field: "voice.voiceId", max: 200)
        try Validate.text(transcriber?.model, field: "transcriber.model", max: 200)
        if let phrases = endCallPhrases {
            guard phrases.count <= 100 else { throw ValidationFailure("Invalid value for field: endCallPhrases (at most 100)") }
            for (i, phrase) in phrases.enumerated() { try Validate.text(phrase, field: "endCallPhrases[\(i)]", max: 500) }
        }
        if let seconds = maxDurationSeconds, !(10...43_200).contains(seconds) {
            throw ValidationFailure("Invalid value for field: maxDurationSeconds (10 to 43200)")
        }
    }
}
