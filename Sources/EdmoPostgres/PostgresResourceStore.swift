import EdmoCore
import EdmoStore
import Foundation

/// `ResourceStore` on PostgreSQL: the behaviour of `SQLiteResourceStore`. Every update and conditional
/// delete names the version it read in its WHERE clause, so under concurrent hosts it is already exact:
/// a writer that waited for another's row lock re-reads the row, finds a newer version and changes nothing
/// (`StoreError.stale`). Phone numbers are in PostgresResourceStore+PhoneNumbers.swift, the provider
/// journal and job claims in PostgresResourceStore+Operations.swift.
public struct PostgresResourceStore: ResourceStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    // MARK: assistants and tools

    public func documents(_ kind: DocumentKind, orgId: String, limit: Int, offset: Int) throws -> (bodies: [String], total: Int) {
        try database.read { connection in
            let page = try connection.newestFirst(kind.postgresTable, columns: "id, created_at, body", orgId: orgId, limit: limit, offset: offset)
            return (try page.rows.map { try $0["body"] }, page.total)
        }
    }

    public func document(_ kind: DocumentKind, orgId: String, id: String) throws -> DocumentRecord? {
        try database.read { connection in try Self.document(connection, kind, orgId: orgId, id: id) }
    }

    /// `lock`: FOR UPDATE, held to the end of the transaction.
    static func document(
        _ connection: PostgresConnection, _ kind: DocumentKind, orgId: String, id: String, lock: Bool = false
    ) throws -> DocumentRecord? {
        try connection.query(
            """
            SELECT \(ResourceColumns.document) FROM \(kind.postgresTable)
            WHERE org_id = $1 AND (id = $2 OR provider_id = $2) ORDER BY (id = $2) DESC LIMIT 1\(lock ? " FOR UPDATE" : "")
            """,
            [orgId, id]
        ).first.map(DocumentRecord.init(postgres:))
    }

    public func insertDocument(
        _ kind: DocumentKind, _ record: DocumentRecord, secret: [UInt8]?, completing operation: String?, event: OutboxEvent?
    ) throws {
        try database.write { connection in
            try connection.execute(
                """
                INSERT INTO \(kind.postgresTable) (id, org_id, provider_id, body, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6)
                """,
                [record.id, record.orgId, record.providerId, record.body, record.createdAt, record.updatedAt])
            if let secret {
                try connection.execute("INSERT INTO tool_secrets (tool_id, sealed) VALUES ($1, $2)", [record.id, secret])
            }
            try Self.complete(connection, operation)
            try PostgresOutbox.write(connection, event)
        }
    }

    public func updateDocument(
        _ kind: DocumentKind, _ record: DocumentRecord, secret: SecretChange, completing operation: String?, event: OutboxEvent?
    ) throws -> Int {
        try database.write { connection in
            try Self.update(connection, kind, record, secret: secret)
            try Self.complete(connection, operation)
            try PostgresOutbox.write(connection, event)
            return record.version + 1
        }
    }

    public func changeDocument(
        _ kind: DocumentKind, orgId: String, id: String, _ change: (DocumentRecord, _ sealedSecret: [UInt8]?) throws -> DocumentChange
    ) throws -> DocumentRecord {
        try database.write { connection in
            guard let current = try Self.document(connection, kind, orgId: orgId, id: id, lock: true) else {
                throw StoreError.notFound(kind.label)
            }
            let secret = kind == .tool ? try Self.toolSecret(connection, toolId: current.id) : nil
            let changed = try change(current, secret)
            var record = changed.record
            (record.id, record.orgId, record.version) = (current.id, current.orgId, current.version)
            try Self.update(connection, kind, record, secret: changed.secret)
            try PostgresOutbox.write(connection, changed.event)
            if let audit = changed.audit { try PostgresAuditStore.insert(connection, audit) }
            record.version += 1
            return record
        }
    }

    /// The row written if it still has `record.version` (and its version raised), and the tool secret changed.
    static func update(_ connection: PostgresConnection, _ kind: DocumentKind, _ record: DocumentRecord, secret: SecretChange) throws {
        let changed = try connection.execute(
            """
            UPDATE \(kind.postgresTable) SET body = $1, provider_id = $2, updated_at = $3, version = version + 1
            WHERE id = $4 AND org_id = $5 AND version = $6
            """,
            [record.body, record.providerId, record.updatedAt, record.id, record.orgId, record.version])
        try requireChange(connection, changed, kind.postgresTable, kind.label, id: record.id)
        switch secret {
        case .keep: break
        case .clear: try connection.execute("DELETE FROM tool_secrets WHERE tool_id = $1", [record.id])
        case .set(let sealed):
            try connection.execute(
                """
                INSERT INTO tool_secrets (tool_id, sealed) VALUES ($1, $2)
                ON CONFLICT (tool_id) DO UPDATE SET sealed = excluded.sealed
                """,
                [record.id, sealed])
        }
    }

    public func deleteDocument(
        _ kind: DocumentKind, orgId: String, id: String, version: Int?, completing operation: String?, event: OutboxEvent?
    ) throws {
        try database.write { connection in
            // Deleting an assistant detaches its phone numbers (ON DELETE SET NULL), and the trigger of
            // migrations/postgres/0005 raises their versions, as on SQLite.
            let changed = try connection.execute(
                "DELETE FROM \(kind.postgresTable) WHERE id = $1 AND org_id = $2 AND ($3::integer IS NULL OR version = $3)",
                [id, orgId, version])
            try Self.requireChange(connection, changed, kind.postgresTable, kind.label, id: id)
            try Self.complete(connection, operation)
            try PostgresOutbox.write(connection, event)
        }
    }

    public func toolSecret(toolId: String) throws -> [UInt8]? {
        try database.read { connection in try Self.toolSecret(connection, toolId: toolId) }
    }

    static func toolSecret(_ connection: PostgresConnection, toolId: String) throws -> [UInt8]? {
        guard let row = try connection.query("SELECT sealed FROM tool_secrets WHERE tool_id = $1", [toolId]).first else { return nil }
        return try row["sealed"] as [UInt8]
    }

    // MARK: shared by the writes

    /// After a conditional write: no row changed means the row is gone (notFound) or has a newer version
    /// than the caller read (stale: read it again and redo the change). As on SQLite, the row is looked
    /// for by id alone, whatever its organisation.
    static func requireChange(_ connection: PostgresConnection, _ changed: Int, _ table: String, _ label: String, id: String) throws {
        guard changed == 0 else { return }
        let exists = try connection.query("SELECT 1 FROM \(table) WHERE id = $1", [id]).count > 0
        throw exists ? StoreError.stale : StoreError.notFound(label)
    }

    /// Ends a provider operation in the same transaction as the local write that follows its call.
    static func complete(_ connection: PostgresConnection, _ operation: String?) throws {
        if let operation { try connection.execute("DELETE FROM provider_operations WHERE id = $1", [operation]) }
    }
}
