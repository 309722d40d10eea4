import EdmoStore
import EdmoCore
import Foundation
import GRDB

public struct SQLiteResourceStore: ResourceStore {
    let database: EdmoDatabase

    public init(database: EdmoDatabase) { self.database = database }

    // MARK: assistants and tools (table names come from DocumentKind, never from input)

    // hand-written: hot path, see bench/README.md "Row mapping"
    public func documents(_ kind: DocumentKind, orgId: String, limit: Int, offset: Int) throws -> (bodies: [String], total: Int) {
        try database.read { db in
            let bodies = try String.fetchAll(
                db.cachedStatement(sql: "SELECT body FROM \(kind.table) WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"),
                arguments: [orgId, limit, offset])
            let total = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT COUNT(*) FROM \(kind.table) WHERE org_id = ?"), arguments: [orgId]) ?? 0
            return (bodies, total)
        }
    }

    // hand-written: hot path, see bench/README.md "Row mapping"
    public func document(_ kind: DocumentKind, orgId: String, id: String) throws -> DocumentRecord? {
        try database.read { db in try Self.document(db, kind, orgId: orgId, id: id) }
    }

    static func document(_ db: GRDB.Database, _ kind: DocumentKind, orgId: String, id: String) throws -> DocumentRecord? {
        // Columns by position off the cursor (no row copy, no lookup of a column by name: GRDB
        // lowercases each name it compares, which cost more than the query).
        let cursor = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT id, org_id, provider_id, body, created_at, updated_at, version FROM \(kind.table)
                    WHERE org_id = ? AND (id = ? OR provider_id = ?) ORDER BY id = ? DESC LIMIT 1
                    """),
            arguments: [orgId, id, id, id])
        guard let row = try cursor.next() else { return nil }
        return withExtendedLifetime(cursor) {
            DocumentRecord(
                id: row[0], orgId: row[1], providerId: row[2], body: row[3],
                createdAt: row[4], updatedAt: row[5], version: row[6])
        }
    }

    public func insertDocument(
        _ kind: DocumentKind, _ record: DocumentRecord, secret: [UInt8]?, completing operation: String?, event: OutboxEvent?
    ) throws {
        try database.write { db in
            // SQL: the table is the kind's, chosen at run time, where a record type has one fixed table.
            try db.execute(
                cached: "INSERT INTO \(kind.table) (id, org_id, provider_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [record.id, record.orgId, record.providerId, record.body, record.createdAt, record.updatedAt])
            if let secret { try ToolSecretRow(toolId: record.id, sealed: Data(secret)).insert(db) }
            try Self.complete(db, operation)
            try SQLiteOutbox.write(db, event)
        }
    }

    public func updateDocument(
        _ kind: DocumentKind, _ record: DocumentRecord, secret: SecretChange, completing operation: String?, event: OutboxEvent?
    ) throws -> Int {
        try database.write { db in
            try Self.update(db, kind, record, secret: secret)
            try Self.complete(db, operation)
            try SQLiteOutbox.write(db, event)
            return record.version + 1
        }
    }

    public func changeDocument(
        _ kind: DocumentKind, orgId: String, id: String, _ change: (DocumentRecord, _ sealedSecret: [UInt8]?) throws -> DocumentChange
    ) throws -> DocumentRecord {
        try database.write { db in
            guard let current = try Self.document(db, kind, orgId: orgId, id: id) else { throw StoreError.notFound(kind.label) }
            let secret = kind == .tool ? try Self.toolSecret(db, toolId: current.id) : nil
            let changed = try change(current, secret)
            var record = changed.record
            (record.id, record.orgId, record.version) = (current.id, current.orgId, current.version)
            try Self.update(db, kind, record, secret: changed.secret)
            try SQLiteOutbox.write(db, changed.event)
            if let audit = changed.audit { try SQLiteAuditStore.insert(db, audit) }
            record.version += 1
            return record
        }
    }

    /// The row written if it still has `record.version` (and its version raised), and the tool secret changed.
    static func update(_ db: GRDB.Database, _ kind: DocumentKind, _ record: DocumentRecord, secret: SecretChange) throws {
        try db.execute(
            cached: """
                UPDATE \(kind.table) SET body = ?, provider_id = ?, updated_at = ?, version = version + 1
                WHERE id = ? AND org_id = ? AND version = ?
                """,
            arguments: [record.body, record.providerId, record.updatedAt, record.id, record.orgId, record.version])
        try requireChange(db, kind.table, kind.label, id: record.id)
        switch secret {
        case .keep: break
        case .clear: try db.execute(cached: "DELETE FROM tool_secrets WHERE tool_id = ?", arguments: [record.id])
        case .set(let sealed):
            try db.execute(
                cached: "INSERT INTO tool_secrets (tool_id, sealed) VALUES (?, ?) ON CONFLICT(tool_id) DO UPDATE SET sealed = excluded.sealed",
                arguments: [record.id, Data(sealed)])
        }
    }

    public func deleteDocument(
        _ kind: DocumentKind, orgId: String, id: String, version: Int?, completing operation: String?, event: OutboxEvent?
    ) throws {
        try database.write { db in
            try db.execute(
                cached: "DELETE FROM \(kind.table) WHERE id = ? AND org_id = ? AND (? IS NULL OR version = ?)",
                arguments: [id, orgId, version, version])
            try Self.requireChange(db, kind.table, kind.label, id: id)
            try Self.complete(db, operation)
            try SQLiteOutbox.write(db, event)
        }
    }

    /// After a conditional write: no row changed means the row is gone (notFound) or has a newer version
    /// than the caller read (stale: read it again and redo the change).
    static func requireChange(_ db: GRDB.Database, _ table: String, _ label: String, id: String) throws {
        guard db.changesCount == 0 else { return }
        let exists = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM \(table) WHERE id = ?"), arguments: [id]) ?? false
        throw exists ? StoreError.stale : StoreError.notFound(label)
    }

    public func toolSecret(toolId: String) throws -> [UInt8]? {
        try database.read { db in try Self.toolSecret(db, toolId: toolId) }
    }

    static func toolSecret(_ db: GRDB.Database, toolId: String) throws -> [UInt8]? {
        try ToolSecretRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM tool_secrets WHERE tool_id = ?"), arguments: [toolId]).map { Array($0.sealed) }
    }

    // MARK: phone numbers

    public func phoneNumbers(orgId: String, limit: Int, offset: Int) throws -> (items: [PhoneNumberRecord], total: Int) {
        try database.read { db in
            let items = try PhoneNumberRow.fetchAll(
                db,
                sql: "SELECT * FROM phone_numbers WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                arguments: [orgId, limit, offset]
            ).map(\.record)
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM phone_numbers WHERE org_id = ?", arguments: [orgId]) ?? 0
            return (items, total)
        }
    }

    public func phoneNumber(orgId: String, id: String) throws -> PhoneNumberRecord? {
        try database.read { db in
            try PhoneNumberRow.fetchOne(
                db,
                sql: "SELECT * FROM phone_numbers WHERE org_id = ? AND (id = ? OR provider_id = ?) ORDER BY id = ? DESC LIMIT 1",
                arguments: [orgId, id, id, id]
            )?.record
        }
    }

    public func phoneNumbersWithProviderIds() throws -> [PhoneNumberRecord] {
        try database.read { db in
            try PhoneNumberRow.fetchAll(db, sql: "SELECT * FROM phone_numbers WHERE provider_id IS NOT NULL").map(\.record)
        }
    }

    public func phoneNumberExists(number: String) throws -> Bool {
        try database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM phone_numbers WHERE number = ?", arguments: [number]) ?? false }
    }

    public func insertPhoneNumber(_ r: PhoneNumberRecord, completing operation: String?) throws {
        try database.write { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM phone_numbers WHERE number = ?"), arguments: [r.number]) == true {
                throw StoreError.conflict("The number \(r.number) is already registered")
            }
            try PhoneNumberRow(r).insert(db)
            try Self.complete(db, operation)
        }
    }

    public func updatePhoneNumber(_ r: PhoneNumberRecord, completing operation: String?) throws -> Int {
        try database.write { db in
            try db.execute(
                cached: """
                    UPDATE phone_numbers SET number = ?, name = ?, assistant_id = ?, provider_id = ?, updated_at = ?,
                        version = version + 1
                    WHERE id = ? AND org_id = ? AND version = ?
                    """,
                arguments: [r.number, r.name, r.assistantId, r.providerId, r.updatedAt, r.id, r.orgId, r.version])
            try Self.requireChange(db, "phone_numbers", "Phone number", id: r.id)
            try Self.complete(db, operation)
            return r.version + 1
        }
    }

    public func deletePhoneNumber(orgId: String, id: String, version: Int?, completing operation: String?) throws {
        try database.write { db in
            try db.execute(
                cached: "DELETE FROM phone_numbers WHERE id = ? AND org_id = ? AND (? IS NULL OR version = ?)",
                arguments: [id, orgId, version, version])
            try Self.requireChange(db, "phone_numbers", "Phone number", id: id)
            try Self.complete(db, operation)
        }
    }

    public func setPhoneNumberMissingSyncs(id: String, _ count: Int) throws {
        try database.write { db in
            try db.execute(cached: "UPDATE phone_numbers SET missing_syncs = ? WHERE id = ?", arguments: [count, id])
        }
    }

    public func claimJob(_ name: String, every interval: TimeInterval, now: Date) throws -> Bool {
        try database.write { db in
            try db.execute(
                cached: """
                    INSERT INTO job_claims (name, claimed_at) VALUES (?, ?)
                    ON CONFLICT(name) DO UPDATE SET claimed_at = excluded.claimed_at WHERE job_claims.claimed_at <= ?
                    """,
                arguments: [name, Timestamp.format(now), Timestamp.format(now.addingTimeInterval(-interval))])
            return db.changesCount == 1
        }
    }

    public func owner(_ kind: OwnedKind, id: String) throws -> (orgId: String, localId: String)? {
        try database.read { db in
            // Cached, as the next one: every webhook report asks.
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT org_id, id FROM \(kind.rawValue) WHERE id = ? OR provider_id = ? ORDER BY id = ? DESC LIMIT 1"),
                arguments: [id, id, id]
            ).map { ($0["org_id"], $0["id"]) }
        }
    }

    // MARK: provider operations

    static func complete(_ db: GRDB.Database, _ operation: String?) throws {
        if let operation { try db.execute(cached: "DELETE FROM provider_operations WHERE id = ?", arguments: [operation]) }
    }

    public func beginOperation(_ op: ProviderOperation) throws {
        try database.write { db in
            try ProviderOperationRow(op).insert(db)
        }
    }

    public func endOperation(id: String) throws {
        try database.write { db in try Self.complete(db, id) }
    }

    public func pendingOperations() throws -> [ProviderOperation] {
        try database.read { db in
            try ProviderOperationRow.fetchAll(db, sql: "SELECT * FROM provider_operations ORDER BY started_at").compactMap(\.operation)
        }
    }

    public func organizationCount() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM organizations") ?? 0 }
    }

    public func soleOrganizationId() throws -> String? {
        try database.read { db in
            let ids = try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM organizations LIMIT 2"))
            return ids.count == 1 ? ids[0] : nil
        }
    }
}

extension DocumentKind {
    /// The SQL table of the kind (table names come from here, never from input).
    var table: String { self == .assistant ? "assistants" : "tools" }
}
