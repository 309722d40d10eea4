/// The one permission table: every endpoint asks it through `Authenticator.require`.
public enum Role: String, Codable, CaseIterable, Sendable {
    case admin = "ADMIN"
    case editor = "EDITOR"
    case viewer = "VIEWER"
}

public enum Area: String, Sendable, CaseIterable {
    case agents, integrations, phoneNumbers, chat, analytics, users
}

public enum Action: String, Sendable, Comparable {
    case read, write, use
    public static func < (a: Action, b: Action) -> Bool { a.rawValue < b.rawValue }
}

public enum Permissions {
    static let table: [Role: [Area: Set<Action>]] = [
        .admin: [
            .agents: [.read, .write], .integrations: [.read, .write], .phoneNumbers: [.read, .write],
            .chat: [.use], .analytics: [.read], .users: [.read, .write],
        ],
        .editor: [
            .agents: [.read, .write], .integrations: [.read, .write], .phoneNumbers: [.read, .write],
            .chat: [.use], .analytics: [.read],
        ],
        .viewer: [.agents: [.read], .integrations: [.read], .phoneNumbers: [.read], .analytics: [.read]],
    ]

    public static func allows(_ role: Role, _ area: Area, _ action: Action) -> Bool {
        table[role]?[area]?.contains(action) ?? false
    }

    /// The `permissions` map of the seed's `User`: `{"agents": ["read", "write"], ...}`.
    public static func map(for role: Role) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (area, actions) in table[role] ?? [:] { out[area.rawValue] = actions.sorted().map(\.rawValue) }
        return out
    }
}
