import EdmoCore
import EdmoStore
import Foundation
import GRDB

/// `IdempotencyStore` on SQLite. One writer at a time, so reading the row and then writing it in one
/// transaction decides every race between retries.
public struct SQLiteIdempotencyStore: IdempotencyStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) { self.database = database }

    static let whereScope = "caller = ? AND route = ? AND key = ?"

    public func claim(
        _ scope: IdempotencyScope, fingerprint: String, owner: String, now: Date, leaseUntil: Date, expiresAt: Date
    ) throws -> IdempotencyClaim {
        let scopeArguments: StatementArguments = [scope.caller, scope.route, scope.key]
        return try database.write { db in
            if let row = try Row.fetchOne(
                db, sql: "SELECT fingerprint, lease_until, expires_at, status, headers, body FROM idempotency_keys WHERE \(Self.whereScope)",
                arguments: scopeArguments), (row["expires_at"] as String) > Timestamp.format(now)
            {
                return IdempotencyDecision.decide(
                    stored: row["fingerprint"], fingerprint: fingerprint, leaseUntil: row["lease_until"], now: now,
                    status: row["status"], headers: row["headers"], body: (row["body"] as Data?).map(Array.init))
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO idempotency_keys
                        (caller, route, key, fingerprint, owner, created_at, lease_until, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    scope.caller, scope.route, scope.key, fingerprint, owner, Timestamp.format(now),
                    Timestamp.format(leaseUntil), Timestamp.format(expiresAt),
                ])
            return .claimed
        }
    }

    public func complete(_ scope: IdempotencyScope, owner: String, response: StoredResponse) throws -> Bool {
        try database.write { db in
            try db.execute(
                sql: "UPDATE idempotency_keys SET status = ?, headers = ?, body = ? WHERE \(Self.whereScope) AND owner = ? AND status IS NULL",
                arguments: [response.status, response.headersText, Data(response.body), scope.caller, scope.route, scope.key, owner])
            return db.changesCount == 1
        }
    }

    public func release(_ scope: IdempotencyScope, owner: String) throws {
        try database.write { db in
            try db.execute(
                sql: "DELETE FROM idempotency_keys WHERE \(Self.whereScope) AND owner = ? AND status IS NULL",
                arguments: [scope.caller, scope.route, scope.key, owner])
        }
    }

    public func forgetAnswers(containing text: String) throws -> Int {
        try database.write { db in
            try db.execute(sql: "DELETE FROM idempotency_keys WHERE instr(body, ?) > 0", arguments: [Data(text.utf8)])
            return db.changesCount
        }
    }

    public func purgeExpired(now: Date, limit: Int) throws -> Int {
        try database.write { db in
            try db.execute(
                sql: """
                    DELETE FROM idempotency_keys WHERE (caller, route, key) IN
                        (SELECT caller, route, key FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
                    """,
                arguments: [Timestamp.format(now), limit])
            return db.changesCount
        }
    }
}
