import EdmoCore
import EdmoStore
import Foundation
import GRDB

/// `AuditStore` on SQLite. An append is its own write, right after the change it records has committed;
/// `EdmoDatabase.write` already shares commits between concurrent writes (group commit), so a burst of
/// changes costs one more fsync, not one each.
public struct SQLiteAuditStore: AuditStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) {
        self.database = database
    }

    /// A cached statement: one is compiled per connection, not per change.
    static func insert(_ db: GRDB.Database, _ e: AuditEntry) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_log (id, org_id, at, actor_kind, actor_id, actor_label, address, action, target_type, target_id, changes)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                e.id, e.orgId, e.at, e.actorKind.rawValue, e.actorId, e.actorLabel, e.address, e.action, e.targetType,
                e.targetId, e.changes,
            ])
    }

    public func append(_ entry: AuditEntry) throws {
        try database.write { db in try Self.insert(db, entry) }
    }

    public func entries(_ filter: AuditFilter, limit: Int, offset: Int) throws -> (items: [AuditEntry], total: Int) {
        let (clause, arguments) = Self.clause(for: filter)
        return try database.read { db in
            let items = try Row.fetchAll(
                db, sql: "SELECT * FROM audit_log WHERE \(clause) ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                arguments: StatementArguments(arguments + [limit, offset])
            ).map(Self.entry)
            let total = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM audit_log WHERE \(clause)", arguments: StatementArguments(arguments)) ?? 0
            return (items, total)
        }
    }

    public func entries(_ filter: AuditFilter, after cursor: AuditCursor?, limit: Int) throws -> [AuditEntry] {
        var (clause, arguments) = Self.clause(for: filter)
        if let cursor {
            clause += " AND (at < ? OR (at = ? AND id < ?))"
            arguments += [cursor.at, cursor.at, cursor.id]
        }
        return try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM audit_log WHERE \(clause) ORDER BY at DESC, id DESC LIMIT ?",
                arguments: StatementArguments(arguments + [limit])
            ).map(Self.entry)
        }
    }

    public func prune(before cutoff: Date, limit: Int) throws -> Int {
        try database.write { db in
            try db.execute(
                sql: "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at, id LIMIT ?)",
                arguments: [Timestamp.format(cutoff), limit])
            return db.changesCount
        }
    }

    /// The filter as a WHERE clause (fixed text, values bound) and its arguments.
    static func clause(for f: AuditFilter) -> (String, [(any DatabaseValueConvertible)?]) {
        var clause = "org_id = ?"
        var arguments: [(any DatabaseValueConvertible)?] = [f.orgId]
        if let actor = f.actor {
            clause += " AND (actor_id = ? OR actor_label = ?)"
            arguments += [actor, actor]
        }
        if let action = f.action {
            clause += " AND action = ?"
            arguments.append(action)
        }
        if let prefix = f.actionPrefix {
            clause += " AND substr(action, 1, length(?)) = ?"
            arguments += [prefix, prefix]
        }
        if let type = f.targetType {
            clause += " AND target_type = ?"
            arguments.append(type)
        }
        if let id = f.targetId {
            clause += " AND target_id = ?"
            arguments.append(id)
        }
        if let from = f.from {
            clause += " AND at >= ?"
            arguments.append(from)
        }
        if let before = f.before {
            clause += " AND at < ?"
            arguments.append(before)
        }
        return (clause, arguments)
    }

    static func entry(_ row: Row) -> AuditEntry {
        AuditEntry(
            id: row["id"], orgId: row["org_id"], at: row["at"],
            actorKind: AuditActorKind(rawValue: row["actor_kind"]) ?? .system, actorId: row["actor_id"],
            actorLabel: row["actor_label"], address: row["address"], action: row["action"], targetType: row["target_type"],
            targetId: row["target_id"], changes: row["changes"])
    }
}
