/// The closed fields of a conversation. Each raw value is the text the database stores and the API sends,
/// so renaming a case is a change of both contracts. Declared in the order the API lists them.

public enum ConversationChannel: String, Codable, CaseIterable, Sendable {
    case web, phone
}

public enum ConversationStatus: String, Codable, CaseIterable, Sendable {
    case inProgress = "in-progress"
    case ended
}

public enum Sentiment: String, Codable, CaseIterable, Sendable {
    case positive, neutral, negative
}

public enum Resolution: String, Codable, CaseIterable, Sendable {
    case resolved, escalated, failed
}
