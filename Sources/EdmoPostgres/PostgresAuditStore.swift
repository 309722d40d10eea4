import EdmoCore
import EdmoStore
import Foundation

/// `AuditStore` on PostgreSQL: the behaviour of `SQLiteAuditStore`. Appends that arrive together share one
/// transaction and one commit (`GroupCommit`), each in its own savepoint so that one failing fails alone.
public struct PostgresAuditStore: AuditStore {
    let database: PostgresDatabase
    private let appends: GroupCommit<AuditEntry, Void>

    public init(database: PostgresDatabase) {
        self.database = database
        appends = GroupCommit { batch in
            try database.pool.write { connection in
                for job in batch {
                    try connection.executeScript("SAVEPOINT audit")
                    do {
                        try PostgresError.translating { try Self.insert(connection, job.work) }
                        try connection.executeScript("RELEASE SAVEPOINT audit")
                        job.result = .success(())
                    } catch {
                        try connection.executeScript("ROLLBACK TO SAVEPOINT audit; RELEASE SAVEPOINT audit")
                        job.result = .failure(error)
                    }
                }
            }
        }
    }

    static func insert(_ connection: PostgresConnection, _ e: AuditEntry) throws {
        try connection.execute(
            """
            INSERT INTO audit_log (id, org_id, at, actor_kind, actor_id, actor_label, address, action, target_type, target_id, changes)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            [
                e.id, e.orgId, e.at, e.actorKind.rawValue, e.actorId, e.actorLabel, e.address, e.action, e.targetType,
                e.targetId, e.changes,
            ])
    }

    public func append(_ entry: AuditEntry) throws {
        try appends.write(entry)
    }

    public func entries(_ filter: AuditFilter, limit: Int, offset: Int) throws -> (items: [AuditEntry], total: Int) {
        let (clause, parameters) = Self.clause(for: filter)
        let n = parameters.count
        return try database.read { connection in
            let items = try connection.query(
                "SELECT \(Self.columns) FROM audit_log WHERE \(clause) ORDER BY at DESC, id DESC LIMIT $\(n + 1) OFFSET $\(n + 2)",
                parameters + [limit, offset]
            ).rows.map(Self.entry)
            let total: Int = try connection.query("SELECT count(*) AS n FROM audit_log WHERE \(clause)", parameters)[0]["n"]
            return (items, total)
        }
    }

    public func entries(_ filter: AuditFilter, after cursor: AuditCursor?, limit: Int) throws -> [AuditEntry] {
        var (clause, parameters) = Self.clause(for: filter)
        if let cursor {
            let n = parameters.count
            clause += " AND (at < $\(n + 1) OR (at = $\(n + 1) AND id < $\(n + 2)))"
            parameters += [cursor.at, cursor.id]
        }
        let n = parameters.count
        return try database.read { connection in
            try connection.query(
                "SELECT \(Self.columns) FROM audit_log WHERE \(clause) ORDER BY at DESC, id DESC LIMIT $\(n + 1)",
                parameters + [limit]
            ).rows.map(Self.entry)
        }
    }

    public func prune(before cutoff: Date, limit: Int) throws -> Int {
        try database.write { connection in
            try connection.execute(
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY at, id LIMIT $2)",
                [cutoff, limit])
        }
    }

    static let columns = "id, org_id, at, actor_kind, actor_id, actor_label, address, action, target_type, target_id, changes"

    /// The filter as a WHERE clause (fixed text, values bound as $1, $2, ...) and its parameters.
    static func clause(for f: AuditFilter) -> (String, [(any PostgresEncodable)?]) {
        var clause = "org_id = $1"
        var parameters: [(any PostgresEncodable)?] = [f.orgId]
        func next(_ value: String) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if let actor = f.actor {
            let p = next(actor)
            clause += " AND (actor_id = \(p) OR actor_label = \(p))"
        }
        if let action = f.action { clause += " AND action = \(next(action))" }
        if let prefix = f.actionPrefix {
            let p = next(prefix)
            clause += " AND left(action, length(\(p)::text)) = \(p)"
        }
        if let type = f.targetType { clause += " AND target_type = \(next(type))" }
        if let id = f.targetId { clause += " AND target_id = \(next(id))" }
        if let from = f.from { clause += " AND at >= \(next(from))" }
        if let before = f.before { clause += " AND at < \(next(before))" }
        return (clause, parameters)
    }

    static func entry(_ row: PostgresRow) throws -> AuditEntry {
        let kind: String = try row["actor_kind"]
        return AuditEntry(
            id: try row["id"], orgId: try row["org_id"], at: try row["at"], actorKind: AuditActorKind(rawValue: kind) ?? .system,
            actorId: try row["actor_id"], actorLabel: try row["actor_label"], address: try row["address"],
            action: try row["action"], targetType: try row["target_type"], targetId: try row["target_id"],
            changes: try row["changes"])
    }
}
