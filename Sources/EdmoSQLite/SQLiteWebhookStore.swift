import EdmoCore
import EdmoStore
import Foundation
import GRDB

/// Writes an outbound event and its deliveries inside the caller's write transaction (the change's own).
enum SQLiteOutbox {
    /// Both statements are cached: they run with nearly every change. The type is found with instr(), not
    /// `LIKE ?`: SQLite compiles a statement again whenever a LIKE's pattern is bound again (it may plan by
    /// the pattern), which was a third of a webhook report's time on the writer (bench/README, session 8).
    static let insertEvent = """
        INSERT INTO webhook_events (id, org_id, type, subject, payload, created_at)
        SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (
            SELECT 1 FROM webhook_endpoints e WHERE e.org_id = ? AND e.enabled AND instr(' ' || e.event_types || ' ', ?) > 0)
        """
    /// One delivery per enabled endpoint taking the type; its id joins the event's and the endpoint's.
    static let insertDeliveries = """
        INSERT INTO webhook_deliveries (id, event_id, endpoint_id, org_id, event_type, subject, status, attempts,
                                        next_attempt_at, created_at, updated_at)
        SELECT 'dlv_' || substr(?, 5) || '_' || substr(e.id, 5), ?, e.id, e.org_id, ?, ?, 'pending', 0, ?, ?, ?
        FROM webhook_endpoints e
        WHERE e.org_id = ? AND e.enabled AND instr(' ' || e.event_types || ' ', ?) > 0
        ORDER BY e.id
        """

    /// Kept only when some enabled endpoint takes it: an organisation without endpoints stores no events.
    static func write(_ db: GRDB.Database, _ event: OutboxEvent?) throws {
        guard let event else { return }
        let type = " \(event.type) "  // a whole word of the endpoint's space-separated list
        try db.cachedStatement(sql: insertEvent).execute(
            arguments: [event.id, event.orgId, event.type, event.subject, event.payload, event.createdAt, event.orgId, type])
        guard db.changesCount == 1 else { return }
        try db.cachedStatement(sql: insertDeliveries).execute(
            arguments: [
                event.id, event.id, event.type, event.subject, event.createdAt, event.createdAt, event.createdAt, event.orgId, type,
            ])
    }

    /// Erasure: the conversations' unsent deliveries are cancelled and their events' bodies blanked, in the
    /// erasure's transaction, so no personal data of theirs is sent or kept here.
    static func erase(_ db: GRDB.Database, subjects: [String], now: Date) throws {
        guard !subjects.isEmpty else { return }
        let marks = databaseQuestionMarks(count: subjects.count)
        try db.execute(
            sql: """
                UPDATE webhook_deliveries SET status = 'cancelled', lease_until = NULL, lease_owner = NULL,
                    last_error = 'the conversation was erased', updated_at = ?
                WHERE subject IN (\(marks)) AND status = 'pending'
                """,
            arguments: [Timestamp.format(now)] + StatementArguments(subjects))
        try db.execute(
            sql: "UPDATE webhook_events SET payload = '{\"erased\":true}' WHERE subject IN (\(marks))",
            arguments: StatementArguments(subjects))
    }
}

public struct SQLiteWebhookStore: WebhookStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) { self.database = database }

    static let deliveryColumns = """
        d.seq, d.id, d.event_id, d.endpoint_id, d.org_id, d.event_type, d.subject, d.status, d.attempts, d.next_attempt_at,
        d.last_error, d.last_status, d.response_ms, d.delivered_at, d.created_at, d.updated_at
        """

    public func endpoints(orgId: String, limit: Int, offset: Int) throws -> (items: [WebhookEndpoint], total: Int) {
        try database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhook_endpoints WHERE org_id = ?", arguments: [orgId]) ?? 0
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM webhook_endpoints WHERE org_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?",
                arguments: [orgId, limit, offset])
            return (rows.map(Self.endpoint), total)
        }
    }

    public func endpoint(orgId: String, id: String) throws -> WebhookEndpoint? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM webhook_endpoints WHERE org_id = ? AND id = ?", arguments: [orgId, id])
                .map(Self.endpoint)
        }
    }

    public func insertEndpoint(_ e: WebhookEndpoint) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO webhook_endpoints (id, org_id, url, description, event_types, enabled, secret, previous_secret,
                                                   previous_secret_until, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    e.id, e.orgId, e.url, e.description, e.eventTypes.joined(separator: " "), e.enabled, Data(e.secret),
                    e.previousSecret.map { Data($0) }, e.previousSecretUntil, e.createdAt, e.updatedAt,
                ])
        }
    }

    public func updateEndpoint(_ e: WebhookEndpoint) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, enabled = ?, secret = ?,
                        previous_secret = ?, previous_secret_until = ?, updated_at = ?
                    WHERE org_id = ? AND id = ?
                    """,
                arguments: [
                    e.url, e.description, e.eventTypes.joined(separator: " "), e.enabled, Data(e.secret),
                    e.previousSecret.map { Data($0) }, e.previousSecretUntil, e.updatedAt, e.orgId, e.id,
                ])
            guard db.changesCount == 1 else { throw StoreError.notFound("Webhook endpoint") }
        }
    }

    public func deleteEndpoint(orgId: String, id: String) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM webhook_endpoints WHERE org_id = ? AND id = ?", arguments: [orgId, id])
            guard db.changesCount == 1 else { throw StoreError.notFound("Webhook endpoint") }
        }
    }

    public func deliveries(orgId: String, endpointId: String, limit: Int, offset: Int) throws -> (items: [WebhookDelivery], total: Int) {
        try database.read { db in
            let total = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = ? AND org_id = ?", arguments: [endpointId, orgId]) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.endpoint_id = ? AND d.org_id = ?
                    ORDER BY d.seq DESC LIMIT ? OFFSET ?
                    """,
                arguments: [endpointId, orgId, limit, offset])
            return (rows.map(Self.delivery), total)
        }
    }

    public func event(orgId: String, id: String) throws -> OutboxEvent? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM webhook_events WHERE org_id = ? AND id = ?", arguments: [orgId, id]).map {
                OutboxEvent(id: $0["id"], orgId: $0["org_id"], type: $0["type"], subject: $0["subject"], payload: $0["payload"],
                            createdAt: $0["created_at"])
            }
        }
    }

    public func retryDelivery(orgId: String, endpointId: String, id: String, now: Date) throws -> WebhookDelivery {
        try database.write { db in
            let stamp = Timestamp.format(now)
            guard let status = try String.fetchOne(
                db, sql: "SELECT status FROM webhook_deliveries WHERE id = ? AND endpoint_id = ? AND org_id = ?",
                arguments: [id, endpointId, orgId])
            else { throw StoreError.notFound("Delivery") }
            guard status != DeliveryStatus.cancelled.rawValue else {
                throw StoreError.conflict("This delivery's conversation was erased; it is not sent")
            }
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL,
                        lease_owner = NULL, updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [stamp, stamp, id])
            return try Row.fetchOne(
                db, sql: "SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.id = ?", arguments: [id]
            ).map(Self.delivery)!
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
        let stamp = Timestamp.format(now)
        return try database.write { db in
            let seqs = try Int.fetchAll(
                db,
                sql: "SELECT d.seq FROM webhook_deliveries d WHERE \(Self.claimable(now: "?1")) ORDER BY d.next_attempt_at, d.seq LIMIT ?2",
                arguments: [stamp, limit])
            guard !seqs.isEmpty else { return [] }
            let marks = databaseQuestionMarks(count: seqs.count)
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET lease_until = ?, lease_owner = ?, attempts = attempts + 1, updated_at = ?
                    WHERE seq IN (\(marks))
                    """,
                arguments: [Timestamp.format(leaseUntil), owner, stamp] + StatementArguments(seqs))
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.deliveryColumns), ev.payload, e.url, e.secret, e.previous_secret, e.previous_secret_until
                    FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
                    JOIN webhook_endpoints e ON e.id = d.endpoint_id
                    WHERE d.seq IN (\(marks)) ORDER BY d.seq
                    """,
                arguments: StatementArguments(seqs)
            ).map { row in
                ClaimedDelivery(
                    delivery: Self.delivery(row), payload: row["payload"], url: row["url"], secret: Array(row["secret"] as Data),
                    previousSecret: (row["previous_secret"] as Data?).map { Array($0) }, previousSecretUntil: row["previous_secret_until"])
            }
        }
    }

    public func releaseDeliveries(seqs: [Int], owner: String, now: Date) throws {
        guard !seqs.isEmpty else { return }
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET lease_until = NULL, lease_owner = NULL, attempts = attempts - 1, updated_at = ?
                    WHERE seq IN (\(databaseQuestionMarks(count: seqs.count))) AND lease_owner = ? AND status = 'pending'
                    """,
                arguments: [Timestamp.format(now)] + StatementArguments(seqs) + [owner])
        }
    }

    public func finishDelivery(seq: Int, owner: String, _ result: DeliveryResult, now: Date) throws -> Bool {
        let stamp = Timestamp.format(now)
        let (status, next, error, code, ms, delivered): (String, String?, String?, Int?, Int?, String?)
        switch result {
        case .delivered(let s, let t): (status, next, error, code, ms, delivered) = ("delivered", nil, nil, s, t, stamp)
        case .retry(let at, let e, let s, let t): (status, next, error, code, ms, delivered) = ("pending", Timestamp.format(at), e, s, t, nil)
        case .failed(let e, let s, let t): (status, next, error, code, ms, delivered) = ("failed", nil, e, s, t, nil)
        }
        return try database.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET status = ?, next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?,
                        last_status = ?, response_ms = ?, delivered_at = COALESCE(?, delivered_at), lease_until = NULL,
                        lease_owner = NULL, updated_at = ?
                    WHERE seq = ? AND lease_owner = ? AND status = 'pending'
                    """,
                arguments: [status, next, error, code, ms, delivered, stamp, seq, owner])
            return db.changesCount == 1
        }
    }

    public func pendingDeliveries() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'") ?? 0 }
    }

    public func prune(before cutoff: Date, limit: Int) throws -> Int {
        let stamp = Timestamp.format(cutoff)
        return try database.write { db in
            try db.execute(
                sql: """
                    DELETE FROM webhook_deliveries WHERE seq IN (
                        SELECT seq FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < ? ORDER BY seq LIMIT ?)
                    """,
                arguments: [stamp, limit])
            let deliveries = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM webhook_events WHERE id IN (
                        SELECT id FROM webhook_events ev WHERE ev.created_at < ?
                          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = ev.id) LIMIT ?)
                    """,
                arguments: [stamp, limit])
            return deliveries + db.changesCount
        }
    }

    static func endpoint(_ row: Row) -> WebhookEndpoint {
        WebhookEndpoint(
            id: row["id"], orgId: row["org_id"], url: row["url"], description: row["description"],
            eventTypes: (row["event_types"] as String).split(separator: " ").map(String.init), enabled: row["enabled"],
            secret: Array(row["secret"] as Data), previousSecret: (row["previous_secret"] as Data?).map { Array($0) },
            previousSecretUntil: row["previous_secret_until"], createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    static func delivery(_ row: Row) -> WebhookDelivery {
        WebhookDelivery(
            seq: row["seq"], id: row["id"], eventId: row["event_id"], endpointId: row["endpoint_id"], orgId: row["org_id"],
            eventType: row["event_type"], subject: row["subject"],
            status: DeliveryStatus(rawValue: row["status"]) ?? .pending, attempts: row["attempts"],
            nextAttemptAt: row["next_attempt_at"], lastError: row["last_error"], lastStatus: row["last_status"],
            responseMs: row["response_ms"], deliveredAt: row["delivered_at"], createdAt: row["created_at"],
            updatedAt: row["updated_at"])
    }
}
