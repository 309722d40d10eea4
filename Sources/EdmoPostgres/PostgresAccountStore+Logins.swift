import EdmoCore
import EdmoStore
import Foundation

// Sessions and login throttling on PostgreSQL. The throttle's counters are shared by every host, so a
// failure counted on one host is never lost to one counted on another at the same moment.
extension PostgresAccountStore {
    // MARK: sessions

    public func createSession(tokenHash: String, userId: String, orgId: String, now: Date, expiresAt: Date) throws {
        try database.write { connection in
            try connection.execute(
                """
                INSERT INTO sessions (token_hash, user_id, org_id, created_at, last_seen_at, expires_at)
                VALUES ($1, $2, $3, $4, $4, $5)
                """,
                [tokenHash, userId, orgId, now, expiresAt])
        }
    }

    /// Read on every authenticated request: one prepared statement, the user without the password hash
    /// and dates (as on SQLite).
    public func session(tokenHash: String) throws -> SessionRecord? {
        try database.read { connection in
            guard let row = try connection.query(
                """
                SELECT s.token_hash, s.org_id, s.last_seen_at, s.expires_at, u.id AS user_id, u.org_id AS user_org_id,
                       u.email, u.name, u.role, u.disabled, o.name AS organization_name
                FROM sessions s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN organizations o ON o.id = s.org_id
                WHERE s.token_hash = $1
                """,
                [tokenHash]
            ).first else { return nil }
            let userId: String? = try row["user_id"]
            return SessionRecord(
                tokenHash: try row["token_hash"], orgId: try row["org_id"],
                lastSeenAt: Timestamp.parse(try row["last_seen_at"]) ?? .distantPast,
                expiresAt: Timestamp.parse(try row["expires_at"]) ?? .distantPast,
                user: try userId.map { id in
                    UserRecord(
                        id: id, orgId: try row["user_org_id"], email: try row["email"], name: try row["name"],
                        role: Role(rawValue: try row["role"]) ?? .viewer, disabled: try row["disabled"], passwordHash: "",
                        createdAt: "", updatedAt: "")
                },
                organizationName: try row["organization_name"])
        }
    }

    public func touchSession(tokenHash: String, now: Date) throws {
        try database.write { connection in
            try connection.execute("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1", [tokenHash, now])
        }
    }

    public func deleteSession(tokenHash: String) throws {
        try database.write { connection in
            try connection.execute("DELETE FROM sessions WHERE token_hash = $1", [tokenHash])
        }
    }

    public func deleteSessions(expiredBefore expiry: Date, idleSince: Date) throws {
        try database.write { connection in
            try connection.execute("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2", [expiry, idleSince])
        }
    }

    // MARK: login throttling

    public func loginLocks(keys: [String], now: Date) throws -> [String: Date] {
        try database.read { connection in
            var locks: [String: Date] = [:]
            for key in keys {
                guard let row = try connection.query("SELECT locked_until FROM login_failures WHERE key = $1", [key]).first
                else { continue }
                let lockedUntil: String? = try row["locked_until"]
                if let until = lockedUntil.flatMap(Timestamp.parse), until > now { locks[key] = until }
            }
            return locks
        }
    }

    public func recordLoginFailures(_ counters: [LoginCounter], now: Date, window: TimeInterval) throws {
        try database.write { connection in
            // In key order: two hosts counting the same keys lock them in the same order, so never wait on
            // each other in a cycle.
            for counter in counters.sorted(by: { $0.key < $1.key }) {
                // Creates the counter with no failures (a stored counter has at least one, so 0 means "made
                // just now"), or locks it: a failure counted at the same moment on another host waits here
                // and then counts on top of this one. The rule below is SQLite's.
                let current = try connection.query(
                    """
                    INSERT INTO login_failures (key, failures, window_started_at) VALUES ($1, 0, $2)
                    ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures
                    RETURNING failures, window_started_at
                    """,
                    [counter.key, now])[0]
                var failures = 1
                var windowStart = now
                let counted: Int = try current["failures"]
                if counted > 0, let started = Timestamp.parse(try current["window_started_at"]),
                   now.timeIntervalSince(started) < window {
                    failures = counted + 1
                    windowStart = started
                }
                try connection.execute(
                    "UPDATE login_failures SET failures = $2, window_started_at = $3, locked_until = $4 WHERE key = $1",
                    [counter.key, failures, windowStart, counter.lock(failures).map { now.addingTimeInterval($0) }])
            }
            // Counters whose window and lock are over count nothing any more.
            try Self.purge(
                connection, "login_failures",
                where: "window_started_at < $1 AND (locked_until IS NULL OR locked_until < $2)",
                [now.addingTimeInterval(-window), now])
        }
    }

    /// Known addresses are kept for a year after their last successful login.
    static let knownAddressDays: TimeInterval = 365

    public func recordLoginSuccess(clearing keys: [String], knownAddress: String, now: Date) throws {
        try database.write { connection in
            for key in keys.sorted() { try connection.execute("DELETE FROM login_failures WHERE key = $1", [key]) }
            try connection.execute(
                """
                INSERT INTO login_known_addresses (key, last_success_at) VALUES ($1, $2)
                ON CONFLICT (key) DO UPDATE SET last_success_at = excluded.last_success_at
                """,
                [knownAddress, now])
            try Self.purge(
                connection, "login_known_addresses", where: "last_success_at < $1",
                [now.addingTimeInterval(-Self.knownAddressDays * 86_400)])
        }
    }

    public func isKnownLoginAddress(_ key: String) throws -> Bool {
        try database.read { connection in
            try connection.query("SELECT 1 FROM login_known_addresses WHERE key = $1", [key]).count > 0
        }
    }

    /// Deletes the rows of `table` (keyed by `key`) that `condition` selects, passing over those another
    /// transaction holds: it is updating them (so they are not expired), and waiting for it could close a
    /// cycle with a host purging the rows this one holds. What is passed over goes at a later purge.
    static func purge(
        _ connection: PostgresConnection, _ table: String, where condition: String, _ parameters: [(any PostgresEncodable)?]
    ) throws {
        try connection.execute(
            "DELETE FROM \(table) WHERE key IN (SELECT key FROM \(table) WHERE \(condition) FOR UPDATE SKIP LOCKED)",
            parameters)
    }
}
