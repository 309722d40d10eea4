import EdmoStore
import EdmoCore
import Foundation
import GRDB

public struct SQLiteAccountStore: AccountStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) { self.database = database }

    // MARK: organisations

    public func organization(named name: String) throws -> Organization? {
        try database.read { db in try Self.fetchOrganization(db, named: name) }
    }

    static func fetchOrganization(_ db: GRDB.Database, named name: String) throws -> Organization? {
        try OrganizationRow.fetchOne(db, sql: "SELECT * FROM organizations WHERE name = ?", arguments: [name])?.organization
    }

    public func ensureOrganization(name: String, id: String, now: Date) throws -> Organization {
        try database.write { db in
            try db.execute(
                cached: "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING",
                arguments: [id, name, Timestamp.format(now)])
            return try Self.fetchOrganization(db, named: name)!
        }
    }

    // MARK: users

    public func user(email: String) throws -> UserRecord? {
        try database.read { db in
            try UserRow.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [email])?.user
        }
    }

    public func user(orgId: String, id: String) throws -> UserRecord? {
        try database.read { db in try Self.fetchUser(db, orgId: orgId, id: id) }
    }

    static func fetchUser(_ db: GRDB.Database, orgId: String, id: String) throws -> UserRecord? {
        try UserRow.fetchOne(db, sql: "SELECT * FROM users WHERE org_id = ? AND id = ?", arguments: [orgId, id])?.user
    }

    public func users(orgId: String, limit: Int, offset: Int) throws -> (items: [UserRecord], total: Int) {
        try database.read { db in
            let items = try UserRow.fetchAll(
                db,
                sql: "SELECT * FROM users WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                arguments: [orgId, limit, offset]
            ).map(\.user)
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE org_id = ?", arguments: [orgId]) ?? 0
            return (items, total)
        }
    }

    public func allUsers() throws -> [UserRecord] {
        try database.read { db in
            try UserRow.fetchAll(db, sql: "SELECT * FROM users ORDER BY org_id, email").map(\.user)
        }
    }

    public func insertUser(_ user: UserRecord) throws {
        try database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE email = ?", arguments: [user.email]) == true {
                throw StoreError.conflict("A user with this email already exists")
            }
            try UserRow(user).insert(db)
        }
    }

    public func updateUser(orgId: String, id: String, change: UserChange, now: Date) throws -> UserRecord {
        try database.write { db in
            guard var user = try Self.fetchUser(db, orgId: orgId, id: id) else { throw StoreError.notFound("User") }
            if let expected = change.expectedVersion, expected != user.version { throw StoreError.stale }
            let wasActiveAdmin = user.role == .admin && !user.disabled
            switch change.name {
            case .absent: break
            case .null: user.name = nil
            case .value(let name): user.name = name
            }
            if let role = change.role { user.role = role }
            if let disabled = change.disabled { user.disabled = disabled }
            if let hash = change.passwordHash { user.passwordHash = hash }
            if wasActiveAdmin && (user.role != .admin || user.disabled) {
                try Self.requireAnotherActiveAdmin(db, orgId: orgId, besides: id)
            }
            user.updatedAt = Timestamp.format(now)
            user.version += 1
            // Read and checked against the expected version in this transaction: a plain update is enough.
            try UserRow(user).update(db)
            if change.disabled == true || change.passwordHash != nil {
                try db.execute(
                    cached: "DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?",
                    arguments: [id, change.keepSession ?? ""])
            }
            return user
        }
    }

    public func deleteUser(orgId: String, id: String, version: Int?) throws {
        try database.write { db in
            guard let user = try Self.fetchUser(db, orgId: orgId, id: id) else { throw StoreError.notFound("User") }
            if let version, version != user.version { throw StoreError.stale }
            if user.role == .admin && !user.disabled {
                try Self.requireAnotherActiveAdmin(db, orgId: orgId, besides: id)
            }
            try db.execute(cached: "DELETE FROM users WHERE id = ?", arguments: [id])
        }
    }

    static func requireAnotherActiveAdmin(_ db: GRDB.Database, orgId: String, besides id: String) throws {
        let others = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM users WHERE org_id = ? AND role = 'ADMIN' AND disabled = 0 AND id <> ?",
            arguments: [orgId, id]) ?? 0
        if others == 0 {
            throw StoreError.conflict("This is the last active admin of the organisation; promote another user first")
        }
    }

    // MARK: sessions

    public func createSession(tokenHash: String, userId: String, orgId: String, now: Date, expiresAt: Date) throws {
        try database.write { db in
            try SessionRow(
                tokenHash: tokenHash, userId: userId, orgId: orgId, createdAt: Timestamp.format(now),
                lastSeenAt: Timestamp.format(now), expiresAt: Timestamp.format(expiresAt)
            ).insert(db)
        }
    }

    // hand-written: hot path, see bench/README.md "Row mapping"
    public func session(tokenHash: String) throws -> SessionRecord? {
        try database.read { db in
            // Cached statement, and values read straight off the cursor (no row copy): this runs on every
            // authenticated request.
            let statement = try db.cachedStatement(
                sql: """
                    SELECT s.token_hash, s.org_id, s.last_seen_at, s.expires_at,
                           u.id, u.org_id, u.email, u.name, u.role, u.disabled, o.name
                    FROM sessions s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN organizations o ON o.id = s.org_id
                    WHERE s.token_hash = ?
                    """)
            let cursor = try Row.fetchCursor(statement, arguments: [tokenHash])
            guard let row = try cursor.next() else { return nil }
            let userId: String? = row[4]
            return withExtendedLifetime(cursor) {
                SessionRecord(
                tokenHash: row[0], orgId: row[1],
                lastSeenAt: Timestamp.parse(row[2]) ?? .distantPast,
                expiresAt: Timestamp.parse(row[3]) ?? .distantPast,
                user: userId.map { id in
                    UserRecord(
                        id: id, orgId: row[5], email: row[6], name: row[7], role: Role(rawValue: row[8]) ?? .viewer,
                        disabled: row[9], passwordHash: "", createdAt: "", updatedAt: "")
                },
                organizationName: row[10])
            }
        }
    }

    public func touchSession(tokenHash: String, now: Date) throws {
        try database.write { db in
            try db.execute(
                cached: "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?",
                arguments: [Timestamp.format(now), tokenHash])
        }
    }

    public func deleteSession(tokenHash: String) throws {
        try database.write { db in
            try db.execute(cached: "DELETE FROM sessions WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    public func deleteSessions(expiredBefore expiry: Date, idleSince: Date) throws {
        try database.write { db in
            try db.execute(
                cached: "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?",
                arguments: [Timestamp.format(expiry), Timestamp.format(idleSince)])
        }
    }

    // MARK: login throttling

    public func loginLocks(keys: [String], now: Date) throws -> [String: Date] {
        try database.read { db in
            var locks: [String: Date] = [:]
            for key in keys {
                if let until = try String.fetchOne(
                    db, sql: "SELECT locked_until FROM login_failures WHERE key = ?", arguments: [key]
                ).flatMap(Timestamp.parse), until > now {
                    locks[key] = until
                }
            }
            return locks
        }
    }

    public func recordLoginFailures(_ counters: [LoginCounter], now: Date, window: TimeInterval) throws {
        try database.write { db in
            for counter in counters {
                var failures = 1
                var windowStart = now
                if let row = try LoginFailureRow.fetchOne(
                    db, sql: "SELECT * FROM login_failures WHERE key = ?", arguments: [counter.key]),
                    let started = Timestamp.parse(row.windowStartedAt), now.timeIntervalSince(started) < window
                {
                    failures = row.failures + 1
                    windowStart = started
                }
                let lockedUntil = counter.lock(failures).map { Timestamp.format(now.addingTimeInterval($0)) }
                try db.execute(
                    cached: """
                        INSERT INTO login_failures (key, failures, window_started_at, locked_until) VALUES (?, ?, ?, ?)
                        ON CONFLICT(key) DO UPDATE SET failures = excluded.failures,
                            window_started_at = excluded.window_started_at, locked_until = excluded.locked_until
                        """,
                    arguments: [counter.key, failures, Timestamp.format(windowStart), lockedUntil])
            }
            // Counters whose window and lock are over count nothing any more.
            let nowText = Timestamp.format(now)
            try db.execute(
                cached: "DELETE FROM login_failures WHERE window_started_at < ? AND (locked_until IS NULL OR locked_until < ?)",
                arguments: [Timestamp.format(now.addingTimeInterval(-window)), nowText])
        }
    }

    /// Known addresses are kept for a year after their last successful login.
    static let knownAddressDays: TimeInterval = 365

    public func recordLoginSuccess(clearing keys: [String], knownAddress: String, now: Date) throws {
        try database.write { db in
            for key in keys { try db.execute(cached: "DELETE FROM login_failures WHERE key = ?", arguments: [key]) }
            try db.execute(
                cached: """
                    INSERT INTO login_known_addresses (key, last_success_at) VALUES (?, ?)
                    ON CONFLICT(key) DO UPDATE SET last_success_at = excluded.last_success_at
                    """,
                arguments: [knownAddress, Timestamp.format(now)])
            try db.execute(
                cached: "DELETE FROM login_known_addresses WHERE last_success_at < ?",
                arguments: [Timestamp.format(now.addingTimeInterval(-Self.knownAddressDays * 86_400))])
        }
    }

    public func isKnownLoginAddress(_ key: String) throws -> Bool {
        try database.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM login_known_addresses WHERE key = ?", arguments: [key]) ?? false
        }
    }
}
