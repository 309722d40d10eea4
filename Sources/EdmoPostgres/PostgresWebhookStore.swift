import EdmoCore
import EdmoStore
import Foundation

/// Writes an outbound event and its deliveries inside the caller's transaction, as `SQLiteOutbox` does.
enum PostgresOutbox {
    static func write(_ connection: PostgresConnection, _ event: OutboxEvent?) throws {
        guard let event else { return }
        let kept = try connection.execute(
            """
            INSERT INTO webhook_events (id, org_id, type, subject, payload, created_at)
            SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (
                SELECT 1 FROM webhook_endpoints e WHERE e.org_id = $2 AND e.enabled AND (' ' || e.event_types || ' ') LIKE $7)
            """,
            [event.id, event.orgId, event.type, event.subject, event.payload, event.createdAt, "% \(event.type) %"])
        guard kept == 1 else { return }
        try connection.execute(
            """
            INSERT INTO webhook_deliveries (id, event_id, endpoint_id, org_id, event_type, subject, status, attempts,
                                            next_attempt_at, created_at, updated_at)
            SELECT 'dlv_' || substr($1, 5) || '_' || substr(e.id, 5), $1, e.id, e.org_id, $2, $3, 'pending', 0, $4, $4, $4
            FROM webhook_endpoints e
            WHERE e.org_id = $5 AND e.enabled AND (' ' || e.event_types || ' ') LIKE $6
            ORDER BY e.id
            """,
            [event.id, event.type, event.subject, event.createdAt, event.orgId, "% \(event.type) %"])
    }

    static func erase(_ connection: PostgresConnection, subjects: [String], now: Date) throws {
        guard !subjects.isEmpty else { return }
        try connection.execute(
            """
            UPDATE webhook_deliveries SET status = 'cancelled', lease_until = NULL, lease_owner = NULL,
                last_error = 'the conversation was erased', updated_at = $2
            WHERE subject = ANY($1::text[]) AND status = 'pending'
            """,
            [PostgresTextArray(subjects), now])
        try connection.execute(
            "UPDATE webhook_events SET payload = '{\"erased\":true}' WHERE subject = ANY($1::text[])", [PostgresTextArray(subjects)])
    }
}

/// `WebhookStore` on PostgreSQL. Claims lock the due rows with `FOR UPDATE SKIP LOCKED`, so hosts claiming at
/// once take different deliveries, and lease them in the same transaction.
public struct PostgresWebhookStore: WebhookStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    static let deliveryColumns = """
        d.seq, d.id, d.event_id, d.endpoint_id, d.org_id, d.event_type, d.subject, d.status, d.attempts, d.next_attempt_at,
        d.last_error, d.last_status, d.response_ms, d.delivered_at, d.created_at, d.updated_at
        """

    public func endpoints(orgId: String, limit: Int, offset: Int) throws -> (items: [WebhookEndpoint], total: Int) {
        try database.read { connection in
            let total: Int = try connection.query("SELECT count(*) AS n FROM webhook_endpoints WHERE org_id = $1", [orgId])[0]["n"]
            let rows = try connection.query(
                "SELECT * FROM webhook_endpoints WHERE org_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3", [orgId, limit, offset])
            return (try rows.rows.map(Self.endpoint), total)
        }
    }

    public func endpoint(orgId: String, id: String) throws -> WebhookEndpoint? {
        try database.read { connection in
            try connection.query("SELECT * FROM webhook_endpoints WHERE org_id = $1 AND id = $2", [orgId, id]).first.map(Self.endpoint)
        }
    }

    public func insertEndpoint(_ e: WebhookEndpoint) throws {
        try database.write { connection in
            try connection.execute(
                """
                INSERT INTO webhook_endpoints (id, org_id, url, description, event_types, enabled, secret, previous_secret,
                                               previous_secret_until, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """,
                [e.id, e.orgId, e.url, e.description, e.eventTypes.joined(separator: " "), e.enabled, e.secret, e.previousSecret,
                 e.previousSecretUntil, e.createdAt, e.updatedAt])
        }
    }

    public func updateEndpoint(_ e: WebhookEndpoint) throws {
        try database.write { connection in
            let changed = try connection.execute(
                """
                UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, enabled = $4, secret = $5,
                    previous_secret = $6, previous_secret_until = $7, updated_at = $8
                WHERE org_id = $9 AND id = $10
                """,
                [e.url, e.description, e.eventTypes.joined(separator: " "), e.enabled, e.secret, e.previousSecret,
                 e.previousSecretUntil, e.updatedAt, e.orgId, e.id])
            guard changed == 1 else { throw StoreError.notFound("Webhook endpoint") }
        }
    }

    public func deleteEndpoint(orgId: String, id: String) throws {
        try database.write { connection in
            let changed = try connection.execute("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2", [orgId, id])
            guard changed == 1 else { throw StoreError.notFound("Webhook endpoint") }
        }
    }

    public func deliveries(orgId: String, endpointId: String, limit: Int, offset: Int) throws -> (items: [WebhookDelivery], total: Int) {
        try database.read { connection in
            let total: Int = try connection.query(
                "SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND org_id = $2", [endpointId, orgId])[0]["n"]
            let rows = try connection.query(
                """
                SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.endpoint_id = $1 AND d.org_id = $2
                ORDER BY d.seq DESC LIMIT $3 OFFSET $4
                """,
                [endpointId, orgId, limit, offset])
            return (try rows.rows.map(Self.delivery), total)
        }
    }

    public func event(orgId: String, id: String) throws -> OutboxEvent? {
        try database.read { connection in
            try connection.query("SELECT * FROM webhook_events WHERE org_id = $1 AND id = $2", [orgId, id]).first.map {
                OutboxEvent(id: try $0["id"], orgId: try $0["org_id"], type: try $0["type"], subject: try $0["subject"],
                            payload: try $0["payload"], createdAt: try $0["created_at"])
            }
        }
    }

    public func retryDelivery(orgId: String, endpointId: String, id: String, now: Date) throws -> WebhookDelivery {
        try database.write { connection in
            guard let row = try connection.query(
                "SELECT status FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2 AND org_id = $3 FOR UPDATE",
                [id, endpointId, orgId]).first
            else { throw StoreError.notFound("Delivery") }
            guard try row["status"] as String != DeliveryStatus.cancelled.rawValue else {
                throw StoreError.conflict("This delivery's conversation was erased; it is not sent")
            }
            try connection.execute(
                """
                UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL,
                    lease_owner = NULL, updated_at = $1
                WHERE id = $2
                """,
                [now, id])
            return try Self.delivery(try connection.query(
                "SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.id = $1", [id])[0])
        }
    }

    /// What a delivery `d` must be to be claimed at `now` (a parameter's name): pending and due, its lease
    /// free, its endpoint enabled, and no earlier delivery of its endpoint and subject still pending. The
    /// metrics count the same (`edmo_webhook_deliveries_due`).
    static func claimable(now: String) -> String {
        """
        d.status = 'pending' AND d.next_attempt_at <= \(now) AND (d.lease_until IS NULL OR d.lease_until <= \(now))
          AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.enabled)
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id
                          AND p.subject = d.subject AND p.seq < d.seq AND p.status = 'pending')
        """
    }

    public func claimDeliveries(now: Date, leaseUntil: Date, owner: String, limit: Int) throws -> [ClaimedDelivery] {
        try database.write { connection in
            let seqs: [Int] = try connection.query(
                """
                SELECT d.seq FROM webhook_deliveries d WHERE \(Self.claimable(now: "$1"))
                ORDER BY d.next_attempt_at, d.seq LIMIT $2
                FOR UPDATE OF d SKIP LOCKED
                """,
                [now, limit]
            ).rows.map { try $0["seq"] }
            guard !seqs.isEmpty else { return [] }
            let batch = PostgresTextArray(seqs.map(String.init))
            try connection.execute(
                """
                UPDATE webhook_deliveries SET lease_until = $1, lease_owner = $2, attempts = attempts + 1, updated_at = $3
                WHERE seq = ANY($4::bigint[])
                """,
                [leaseUntil, owner, now, batch])
            return try connection.query(
                """
                SELECT \(Self.deliveryColumns), ev.payload, e.url, e.secret, e.previous_secret, e.previous_secret_until
                FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
                JOIN webhook_endpoints e ON e.id = d.endpoint_id
                WHERE d.seq = ANY($1::bigint[]) ORDER BY d.seq
                """,
                [batch]
            ).rows.map { row in
                ClaimedDelivery(
                    delivery: try Self.delivery(row), payload: try row["payload"], url: try row["url"], secret: try row["secret"],
                    previousSecret: try row["previous_secret"], previousSecretUntil: try row["previous_secret_until"])
            }
        }
    }

    public func releaseDeliveries(seqs: [Int], owner: String, now: Date) throws {
        guard !seqs.isEmpty else { return }
        try database.write { connection in
            try connection.execute(
                """
                UPDATE webhook_deliveries SET lease_until = NULL, lease_owner = NULL, attempts = attempts - 1, updated_at = $1
                WHERE seq = ANY($2::bigint[]) AND lease_owner = $3 AND status = 'pending'
                """,
                [now, PostgresTextArray(seqs.map(String.init)), owner])
        }
    }

    public func finishDelivery(seq: Int, owner: String, _ result: DeliveryResult, now: Date) throws -> Bool {
        let (status, next, error, code, ms, delivered): (String, Date?, String?, Int?, Int?, Date?)
        switch result {
        case .delivered(let s, let t): (status, next, error, code, ms, delivered) = ("delivered", nil, nil, s, t, now)
        case .retry(let at, let e, let s, let t): (status, next, error, code, ms, delivered) = ("pending", at, e, s, t, nil)
        case .failed(let e, let s, let t): (status, next, error, code, ms, delivered) = ("failed", nil, e, s, t, nil)
        }
        return try database.write { connection in
            try connection.execute(
                """
                UPDATE webhook_deliveries SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3,
                    last_status = $4, response_ms = $5, delivered_at = COALESCE($6, delivered_at), lease_until = NULL,
                    lease_owner = NULL, updated_at = $7
                WHERE seq = $8 AND lease_owner = $9 AND status = 'pending'
                """,
                [status, next, error, code, ms, delivered, now, seq, owner]) == 1
        }
    }

    public func pendingDeliveries() throws -> Int {
        try database.read { connection in
            try connection.query("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'")[0]["n"]
        }
    }

    public func prune(before cutoff: Date, limit: Int) throws -> Int {
        try database.write { connection in
            let deliveries = try connection.execute(
                """
                DELETE FROM webhook_deliveries WHERE seq IN (
                    SELECT seq FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < $1 ORDER BY seq LIMIT $2)
                """,
                [cutoff, limit])
            let events = try connection.execute(
                """
                DELETE FROM webhook_events WHERE id IN (
                    SELECT id FROM webhook_events ev WHERE ev.created_at < $1
                      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = ev.id) LIMIT $2)
                """,
                [cutoff, limit])
            return deliveries + events
        }
    }

    static func endpoint(_ row: PostgresRow) throws -> WebhookEndpoint {
        WebhookEndpoint(
            id: try row["id"], orgId: try row["org_id"], url: try row["url"], description: try row["description"],
            eventTypes: (try row["event_types"] as String).split(separator: " ").map(String.init), enabled: try row["enabled"],
            secret: try row["secret"], previousSecret: try row["previous_secret"], previousSecretUntil: try row["previous_secret_until"],
            createdAt: try row["created_at"], updatedAt: try row["updated_at"])
    }

    static func delivery(_ row: PostgresRow) throws -> WebhookDelivery {
        WebhookDelivery(
            seq: try row["seq"], id: try row["id"], eventId: try row["event_id"], endpointId: try row["endpoint_id"],
            orgId: try row["org_id"], eventType: try row["event_type"], subject: try row["subject"],
            status: DeliveryStatus(rawValue: try row["status"]) ?? .pending, attempts: try row["attempts"],
            nextAttemptAt: try row["next_attempt_at"], lastError: try row["last_error"], lastStatus: try row["last_status"],
            responseMs: try row["response_ms"], deliveredAt: try row["delivered_at"], createdAt: try row["created_at"],
            updatedAt: try row["updated_at"])
    }
}
