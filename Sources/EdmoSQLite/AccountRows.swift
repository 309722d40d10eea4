import EdmoCore
import EdmoStore
import GRDB

/// A row of `organizations`.
struct OrganizationRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "organizations"

    var id: String
    var name: String
    var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, name, createdAt = "created_at"
    }

    var organization: Organization { Organization(id: id, name: name) }
}

/// A row of `users`.
struct UserRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "users"

    var id: String
    var orgId: String
    var email: String
    var name: String?
    var role: Role
    var disabled: Bool
    var passwordHash: String
    var createdAt: String
    var updatedAt: String
    var version: Int

    enum CodingKeys: String, CodingKey {
        case id, orgId = "org_id", email, name, role, disabled, passwordHash = "password_hash", createdAt = "created_at"
        case updatedAt = "updated_at", version
    }

    init(_ u: UserRecord) {
        id = u.id; orgId = u.orgId; email = u.email; name = u.name; role = u.role; disabled = u.disabled
        passwordHash = u.passwordHash; createdAt = u.createdAt; updatedAt = u.updatedAt; version = u.version
    }

    var user: UserRecord {
        UserRecord(
            id: id, orgId: orgId, email: email, name: name, role: role, disabled: disabled, passwordHash: passwordHash,
            createdAt: createdAt, updatedAt: updatedAt, version: version)
    }
}

/// A row of `sessions`: the token's hash, never the token. Read by hand in `SQLiteAccountStore.session`.
struct SessionRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "sessions"

    var tokenHash: String
    var userId: String
    var orgId: String
    var createdAt: String
    var lastSeenAt: String
    var expiresAt: String

    enum CodingKeys: String, CodingKey {
        case tokenHash = "token_hash", userId = "user_id", orgId = "org_id", createdAt = "created_at"
        case lastSeenAt = "last_seen_at", expiresAt = "expires_at"
    }
}

/// A row of `login_failures`: failures counted in the window that started at `windowStartedAt`.
struct LoginFailureRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "login_failures"

    var key: String
    var failures: Int
    var windowStartedAt: String
    var lockedUntil: String?

    enum CodingKeys: String, CodingKey {
        case key, failures, windowStartedAt = "window_started_at", lockedUntil = "locked_until"
    }
}
