import EdmoCore
import Foundation

public struct Organization: Sendable, Equatable {
    public var id: String
    public var name: String

    public init(
        id: String, name: String
    ) {
        self.id = id
        self.name = name
    }
}

public struct UserRecord: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var email: String
    public var name: String?
    public var role: Role
    public var disabled: Bool
    public var passwordHash: String
    public var createdAt: String
    public var updatedAt: String
    /// See `DocumentRecord.version`.
    public var version: Int = 1

    public init(
        id: String, orgId: String, email: String, name: String? = nil, role: Role, disabled: Bool,
        passwordHash: String, createdAt: String, updatedAt: String, version: Int = 1
    ) {
        self.id = id
        self.orgId = orgId
        self.email = email
        self.name = name
        self.role = role
        self.disabled = disabled
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }
}

/// A change to a user; nil (or `.absent`) leaves a field as it is.
public struct UserChange: Sendable {
    public var name: Patch<String> = .absent
    public var role: Role?
    public var disabled: Bool?
    public var passwordHash: String?
    /// A password change revokes every session of the user but this one (the caller changing their own).
    public var keepSession: String?
    /// When set, the change applies only to this version of the user (`StoreError.stale` otherwise).
    public var expectedVersion: Int?
    public init() {}
}

public struct SessionRecord: Sendable {
    public var tokenHash: String
    public var orgId: String
    public var lastSeenAt: Date
    public var expiresAt: Date
    /// nil when the user row is gone. Read on every request, so without the password hash and dates.
    public var user: UserRecord?
    public var organizationName: String?

    public init(
        tokenHash: String, orgId: String, lastSeenAt: Date, expiresAt: Date, user: UserRecord? = nil,
        organizationName: String? = nil
    ) {
        self.tokenHash = tokenHash
        self.orgId = orgId
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.user = user
        self.organizationName = organizationName
    }
}

/// Organisations, users, sessions and login throttling. An interface so that another backend
/// (PostgreSQL) can stand in for `SQLiteAccountStore`.
public protocol AccountStore: Sendable {
    func organization(named name: String) throws -> Organization?
    /// Returns the organisation with this name, creating it (with `id`) if there is none.
    func ensureOrganization(name: String, id: String, now: Date) throws -> Organization
    /// nil when there is no such organisation.
    func settings(orgId: String) throws -> OrganizationSettings?
    /// Replaces the settings and returns the ones it replaced (`StoreError.notFound` without the organisation).
    @discardableResult
    func updateSettings(orgId: String, _ settings: OrganizationSettings) throws -> OrganizationSettings
    /// Every organisation with its settings, by id: the retention sweep's list.
    func organizationSettings() throws -> [(organization: Organization, settings: OrganizationSettings)]

    func user(email: String) throws -> UserRecord?
    func user(orgId: String, id: String) throws -> UserRecord?
    func users(orgId: String, limit: Int, offset: Int) throws -> (items: [UserRecord], total: Int)
    func allUsers() throws -> [UserRecord]
    /// Throws `StoreError.conflict` when the email is taken.
    func insertUser(_ user: UserRecord) throws
    /// Refuses (conflict) to leave the org without an active admin; revokes the user's sessions when it
    /// disables the user or changes the password.
    func updateUser(orgId: String, id: String, change: UserChange, now: Date) throws -> UserRecord
    func deleteUser(orgId: String, id: String, version: Int?) throws

    func createSession(tokenHash: String, userId: String, orgId: String, now: Date, expiresAt: Date) throws
    func session(tokenHash: String) throws -> SessionRecord?
    func touchSession(tokenHash: String, now: Date) throws
    func deleteSession(tokenHash: String) throws
    func deleteSessions(expiredBefore expiry: Date, idleSince: Date) throws

    /// The keys (of `keys`) that are locked at `now`, with the end of each lock.
    func loginLocks(keys: [String], now: Date) throws -> [String: Date]
    /// Counts one failure on each counter within `window` (a new window starts after it) and locks those
    /// whose rule says so, in one transaction; also purges counters whose window and lock have passed.
    func recordLoginFailures(_ counters: [LoginCounter], now: Date, window: TimeInterval) throws
    /// Clears `clearing` and remembers `knownAddress` (an account and client address that logged in).
    func recordLoginSuccess(clearing keys: [String], knownAddress: String, now: Date) throws
    func isKnownLoginAddress(_ key: String) throws -> Bool
}

/// One failed-login counter: `key` is already hashed; `lock` says how long to lock it after a number of
/// failures in the window (nil: not locked).
public struct LoginCounter: Sendable {
    public var key: String
    public var lock: @Sendable (_ failures: Int) -> TimeInterval?

    public init(key: String, lock: @escaping @Sendable (Int) -> TimeInterval?) {
        self.key = key
        self.lock = lock
    }
}
