import EdmoCore
import EdmoStore
import Foundation

// The provider journal, job claims, and the lookups that name no organisation (webhooks, the sync).
extension PostgresResourceStore {
    public func owner(_ kind: OwnedKind, id: String) throws -> (orgId: String, localId: String)? {
        try database.read { connection in
            // The table comes from the enum (assistants, phone_numbers), never from input.
            try connection.query(
                "SELECT org_id, id FROM \(kind.rawValue) WHERE id = $1 OR provider_id = $1 ORDER BY (id = $1) DESC LIMIT 1",
                [id]
            ).first.map { (try $0["org_id"], try $0["id"]) }
        }
    }

    public func beginOperation(_ op: ProviderOperation) throws {
        try database.write { connection in
            try connection.execute(
                """
                INSERT INTO provider_operations (id, org_id, kind, action, local_id, owner, started_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [op.id, op.orgId, op.kind.rawValue, op.action.rawValue, op.localId, op.owner, op.startedAt])
        }
    }

    public func endOperation(id: String) throws {
        try database.write { connection in try Self.complete(connection, id) }
    }

    /// Oldest first; `id` orders operations begun in the same millisecond, which SQLite leaves in rowid order.
    public func pendingOperations() throws -> [ProviderOperation] {
        try database.read { connection in
            try connection.query("SELECT \(ResourceColumns.operation) FROM provider_operations ORDER BY started_at, id")
                .rows.compactMap(ProviderOperation.init(postgres:))
        }
    }

    /// One statement: of hosts claiming at once, the first inserts or moves `claimed_at`; the others wait
    /// for its row lock, then find the claim too recent and change nothing.
    public func claimJob(_ name: String, every interval: TimeInterval, now: Date) throws -> Bool {
        try database.write { connection in
            try connection.execute(
                """
                INSERT INTO job_claims (name, claimed_at) VALUES ($1, $2)
                ON CONFLICT (name) DO UPDATE SET claimed_at = excluded.claimed_at WHERE job_claims.claimed_at <= $3
                """,
                [name, now, now.addingTimeInterval(-interval)]) == 1
        }
    }

    public func organizationCount() throws -> Int {
        try database.read { connection in try connection.query("SELECT count(*) AS n FROM organizations")[0]["n"] }
    }

    public func soleOrganizationId() throws -> String? {
        try database.read { connection in
            let ids: [String] = try connection.query("SELECT id FROM organizations LIMIT 2").rows.map { try $0["id"] }
            return ids.count == 1 ? ids[0] : nil
        }
    }
}
