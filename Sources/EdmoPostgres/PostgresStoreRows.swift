import EdmoCore
import EdmoStore

// Reading the account and resource tables into the store's records, and the one paging query they share.
// The column lists are spelled out (never `*`) so that a column a later migration adds does not change
// what a statement returns.

enum AccountColumns {
    static let user = "id, org_id, email, name, role, disabled, password_hash, created_at, updated_at, version"
}

enum ResourceColumns {
    static let document = "id, org_id, provider_id, body, created_at, updated_at, version"
    static let phoneNumber = """
        id, org_id, provider, number, name, assistant_id, provider_id, credentials, created_at, updated_at, version, \
        missing_syncs
        """
    static let operation = "id, org_id, kind, action, local_id, owner, started_at"
}

extension UserRecord {
    init(postgres row: PostgresRow) throws {
        // The column's CHECK allows only the three roles; an unknown one is a corrupt row, as a failed
        // decode is on SQLite.
        let roleName: String = try row["role"]
        guard let role = Role(rawValue: roleName) else { throw PostgresError(message: "users.role \(roleName) is not a role") }
        self.init(
            id: try row["id"], orgId: try row["org_id"], email: try row["email"], name: try row["name"], role: role,
            disabled: try row["disabled"], passwordHash: try row["password_hash"], createdAt: try row["created_at"],
            updatedAt: try row["updated_at"], version: try row["version"])
    }
}

extension DocumentRecord {
    init(postgres row: PostgresRow) throws {
        self.init(
            id: try row["id"], orgId: try row["org_id"], providerId: try row["provider_id"], body: try row["body"],
            createdAt: try row["created_at"], updatedAt: try row["updated_at"], version: try row["version"])
    }
}

extension PhoneNumberRecord {
    init(postgres row: PostgresRow) throws {
        self.init(
            id: try row["id"], orgId: try row["org_id"], provider: try row["provider"], number: try row["number"],
            name: try row["name"], assistantId: try row["assistant_id"], providerId: try row["provider_id"],
            credentials: try row["credentials"], createdAt: try row["created_at"], updatedAt: try row["updated_at"],
            version: try row["version"], missingSyncs: try row["missing_syncs"])
    }
}

extension ProviderOperation {
    /// nil for a kind or action this build does not know: skipped, not an error (as on SQLite).
    init?(postgres row: PostgresRow) throws {
        guard let kind = Kind(rawValue: try row["kind"]), let action = Action(rawValue: try row["action"]) else { return nil }
        self.init(
            id: try row["id"], orgId: try row["org_id"], kind: kind, action: action, localId: try row["local_id"],
            owner: try row["owner"], startedAt: try row["started_at"])
    }
}

extension DocumentKind {
    /// The table of the kind: table names come from here, never from input.
    var postgresTable: String { self == .assistant ? "assistants" : "tools" }
}

extension PostgresConnection {
    /// One page of an organisation's rows of `table`, newest first (`created_at DESC, id DESC`, the SQLite
    /// order), with the organisation's total. One statement, so the page and the total come from one
    /// snapshot (two autocommit reads could straddle a write) in one round trip; the outer join keeps the
    /// total when the page is past the end. `columns` must include `id` and `created_at`.
    func newestFirst(
        _ table: String, columns: String, orgId: String, limit: Int, offset: Int
    ) throws -> (rows: [PostgresRow], total: Int) {
        let result = try query(
            """
            SELECT counted.total, page.* FROM (SELECT count(*) AS total FROM \(table) WHERE org_id = $1) AS counted
            LEFT JOIN LATERAL (
                SELECT \(columns) FROM \(table) WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
            ) AS page ON true
            ORDER BY page.created_at DESC, page.id DESC
            """,
            // SQLite reads a negative LIMIT as none and a negative OFFSET as 0, where PostgreSQL refuses both.
            [orgId, limit < 0 ? nil : limit, max(offset, 0)])
        let total: Int = try result.first?["total"] ?? 0
        return (try result.rows.filter { !(try $0.isNull("id")) }, total)
    }
}
