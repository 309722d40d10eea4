import EdmoCore
import EdmoStore
import Foundation

/// `AccountStore` on PostgreSQL: the behaviour of `SQLiteAccountStore`, made safe for several edmo hosts
/// writing at once. Where SQLite reads and then writes, relying on its one writer, this store locks the
/// row it read (`FOR UPDATE`) or does the change in one statement. Sessions and login throttling are in
/// PostgresAccountStore+Logins.swift.
public struct PostgresAccountStore: AccountStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    // MARK: organisations

    public func organization(named name: String) throws -> Organization? {
        try database.read { connection in try Self.fetchOrganization(connection, named: name) }
    }

    static func fetchOrganization(_ connection: PostgresConnection, named name: String) throws -> Organization? {
        try connection.query("SELECT id, name FROM organizations WHERE name = $1", [name]).first.map {
            Organization(id: try $0["id"], name: try $0["name"])
        }
    }

    public func ensureOrganization(name: String, id: String, now: Date) throws -> Organization {
        try database.write { connection in
            // When another host inserts the same name first, the insert waits for it and does nothing; the
            // read after it is a statement of its own, so it sees that host's row.
            try connection.execute(
                "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                [id, name, now])
            guard let organization = try Self.fetchOrganization(connection, named: name) else {
                throw StoreError.notFound("Organization")
            }
            return organization
        }
    }

    // MARK: users

    public func user(email: String) throws -> UserRecord? {
        try database.read { connection in
            try connection.query("SELECT \(AccountColumns.user) FROM users WHERE email = $1", [email]).first
                .map(UserRecord.init(postgres:))
        }
    }

    public func user(orgId: String, id: String) throws -> UserRecord? {
        try database.read { connection in
            try connection.query("SELECT \(AccountColumns.user) FROM users WHERE org_id = $1 AND id = $2", [orgId, id]).first
                .map(UserRecord.init(postgres:))
        }
    }

    public func users(orgId: String, limit: Int, offset: Int) throws -> (items: [UserRecord], total: Int) {
        try database.read { connection in
            let page = try connection.newestFirst("users", columns: AccountColumns.user, orgId: orgId, limit: limit, offset: offset)
            return (try page.rows.map(UserRecord.init(postgres:)), page.total)
        }
    }

    public func allUsers() throws -> [UserRecord] {
        try database.read { connection in
            try connection.query("SELECT \(AccountColumns.user) FROM users ORDER BY org_id, email").rows.map(UserRecord.init(postgres:))
        }
    }

    public func insertUser(_ user: UserRecord) throws {
        try database.write { connection in
            // One statement, where SQLite checks and then inserts: a host inserting the same email at the same
            // time makes this one insert nothing rather than pass the check too.
            let inserted = try connection.execute(
                """
                INSERT INTO users (id, org_id, email, name, role, disabled, password_hash, created_at, updated_at, version)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (email) DO NOTHING
                """,
                [user.id, user.orgId, user.email, user.name, user.role.rawValue, user.disabled, user.passwordHash,
                 user.createdAt, user.updatedAt, user.version])
            if inserted == 0 { throw StoreError.conflict("A user with this email already exists") }
        }
    }

    public func updateUser(orgId: String, id: String, change: UserChange, now: Date) throws -> UserRecord {
        try database.write { connection in
            guard var user = try Self.lockUser(connection, orgId: orgId, id: id) else { throw StoreError.notFound("User") }
            if let expected = change.expectedVersion, expected != user.version { throw StoreError.stale }
            let wasActiveAdmin = user.isActiveAdmin
            switch change.name {
            case .absent: break
            case .null: user.name = nil
            case .value(let name): user.name = name
            }
            if let role = change.role { user.role = role }
            if let disabled = change.disabled { user.disabled = disabled }
            if let hash = change.passwordHash { user.passwordHash = hash }
            if wasActiveAdmin && !user.isActiveAdmin {
                try Self.requireAnotherActiveAdmin(connection, orgId: orgId, besides: id)
            }
            user.updatedAt = Timestamp.format(now)
            user.version += 1
            // The row is locked since it was read: no other writer can have moved its version.
            try connection.execute(
                """
                UPDATE users SET name = $2, role = $3, disabled = $4, password_hash = $5, updated_at = $6, version = $7
                WHERE id = $1
                """,
                [id, user.name, user.role.rawValue, user.disabled, user.passwordHash, user.updatedAt, user.version])
            if change.disabled == true || change.passwordHash != nil {
                try connection.execute(
                    "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2", [id, change.keepSession ?? ""])
            }
            return user
        }
    }

    public func deleteUser(orgId: String, id: String, version: Int?) throws {
        try database.write { connection in
            guard let user = try Self.lockUser(connection, orgId: orgId, id: id) else { throw StoreError.notFound("User") }
            if let version, version != user.version { throw StoreError.stale }
            if user.isActiveAdmin {
                try Self.requireAnotherActiveAdmin(connection, orgId: orgId, besides: id)
            }
            try connection.execute("DELETE FROM users WHERE id = $1", [id])
        }
    }

    /// Reads the user and locks the row until the transaction ends: a concurrent change waits, then reads
    /// what this one wrote (and its new version).
    static func lockUser(_ connection: PostgresConnection, orgId: String, id: String) throws -> UserRecord? {
        try connection.query(
            "SELECT \(AccountColumns.user) FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE", [orgId, id]
        ).first.map(UserRecord.init(postgres:))
    }

    /// Two hosts each demoting one of the last two admins would each count the other as still active. The
    /// organisation's row lock makes such changes take turns, and the count, a statement after the lock,
    /// sees what the previous turn committed. (`NO KEY UPDATE` leaves alone the key-share locks that
    /// inserting a session or a user takes on it.)
    static func requireAnotherActiveAdmin(_ connection: PostgresConnection, orgId: String, besides id: String) throws {
        try connection.execute("SELECT 1 FROM organizations WHERE id = $1 FOR NO KEY UPDATE", [orgId])
        let others: Int = try connection.query(
            "SELECT count(*) AS n FROM users WHERE org_id = $1 AND role = 'ADMIN' AND NOT disabled AND id <> $2",
            [orgId, id])[0]["n"]
        if others == 0 {
            throw StoreError.conflict("This is the last active admin of the organisation; promote another user first")
        }
    }
}

extension UserRecord {
    var isActiveAdmin: Bool { role == .admin && !disabled }
}
