import EdmoCore
import EdmoStore
import Foundation

/// `IdempotencyStore` on PostgreSQL: the behaviour of `SQLiteIdempotencyStore`, with several hosts claiming at
/// once. The claim is one upsert: of retries racing on two hosts, the first inserts; the other waits for its
/// row lock, finds the row live (the update's condition fails) and reads what the winner committed.
public struct PostgresIdempotencyStore: IdempotencyStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    public func claim(
        _ scope: IdempotencyScope, fingerprint: String, owner: String, now: Date, leaseUntil: Date, expiresAt: Date
    ) throws -> IdempotencyClaim {
        try database.write { connection in
            let claimed = try connection.execute(
                """
                INSERT INTO idempotency_keys (caller, route, key, fingerprint, owner, created_at, lease_until, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (caller, route, key) DO UPDATE SET
                    fingerprint = excluded.fingerprint, owner = excluded.owner, created_at = excluded.created_at,
                    lease_until = excluded.lease_until, expires_at = excluded.expires_at,
                    status = NULL, headers = NULL, body = NULL
                WHERE idempotency_keys.expires_at <= $6
                """,
                [scope.caller, scope.route, scope.key, fingerprint, owner, now, leaseUntil, expiresAt])
            if claimed == 1 { return .claimed }
            let rows = try connection.query(
                """
                SELECT fingerprint, lease_until, status, headers, body FROM idempotency_keys
                WHERE caller = $1 AND route = $2 AND key = $3
                """,
                [scope.caller, scope.route, scope.key]
            ).rows
            guard let row = rows.first else { throw StoreError.conflict("idempotency key vanished while claimed") }
            let status: Int? = try row["status"]
            let headers: String? = try row["headers"]
            let body: [UInt8]? = try row["body"]
            return IdempotencyDecision.decide(
                stored: try row["fingerprint"], fingerprint: fingerprint, leaseUntil: try row["lease_until"], now: now,
                status: status, headers: headers, body: body)
        }
    }

    public func complete(_ scope: IdempotencyScope, owner: String, response: StoredResponse) throws -> Bool {
        try database.write { connection in
            try connection.execute(
                """
                UPDATE idempotency_keys SET status = $1, headers = $2, body = $3
                WHERE caller = $4 AND route = $5 AND key = $6 AND owner = $7 AND status IS NULL
                """,
                [response.status, response.headersText, response.body, scope.caller, scope.route, scope.key, owner]) == 1
        }
    }

    public func release(_ scope: IdempotencyScope, owner: String) throws {
        try database.write { connection in
            _ = try connection.execute(
                "DELETE FROM idempotency_keys WHERE caller = $1 AND route = $2 AND key = $3 AND owner = $4 AND status IS NULL",
                [scope.caller, scope.route, scope.key, owner])
        }
    }

    public func forgetAnswers(containing text: String) throws -> Int {
        try database.write { connection in
            try connection.execute("DELETE FROM idempotency_keys WHERE position($1::bytea IN body) > 0", [Array(text.utf8)])
        }
    }

    public func purgeExpired(now: Date, limit: Int) throws -> Int {
        try database.write { connection in
            try connection.execute(
                """
                DELETE FROM idempotency_keys WHERE (caller, route, key) IN
                    (SELECT caller, route, key FROM idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)
                """,
                [now, limit])
        }
    }
}
