/// Where credentials sealed with `EDMO_SECRET_KEY` are stored: a tool's server secret (by tool id) and a
/// Twilio or Vonage number's credentials (by phone number id; numbers without credentials have none).
/// `edmo rotate-secret-key` walks both to re-seal them under a new key.
public enum SealedTable: String, CaseIterable, Sendable {
    case toolSecrets = "tool_secrets"
    case phoneNumbers = "phone_numbers"
    /// An outbound-event endpoint's signing secret, and its previous one during a rotation's grace period.
    case webhookSecrets = "webhook_secrets"
    case webhookPreviousSecrets = "webhook_previous_secrets"

    /// The table holding it (SQL names come from here, never from input).
    public var tableName: String {
        switch self {
        case .toolSecrets, .phoneNumbers: rawValue
        case .webhookSecrets, .webhookPreviousSecrets: "webhook_endpoints"
        }
    }
}

/// One sealed value as stored: nonce || ciphertext, never opened by a store.
public struct SealedValue: Sendable, Equatable {
    public var id: String
    public var sealed: [UInt8]

    public init(id: String, sealed: [UInt8]) {
        self.id = id
        self.sealed = sealed
    }
}

/// Replace `old` by `new`, only if the row still holds exactly `old`.
public struct SealedChange: Sendable, Equatable {
    public var id: String
    public var old: [UInt8]
    public var new: [UInt8]

    public init(id: String, old: [UInt8], new: [UInt8]) {
        self.id = id
        self.old = old
        self.new = new
    }
}
