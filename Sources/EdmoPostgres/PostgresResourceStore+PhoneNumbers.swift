import EdmoCore
import EdmoStore
import Foundation

extension PostgresResourceStore {
    public func phoneNumbers(orgId: String, limit: Int, offset: Int) throws -> (items: [PhoneNumberRecord], total: Int) {
        try database.read { connection in
            let page = try connection.newestFirst(
                "phone_numbers", columns: ResourceColumns.phoneNumber, orgId: orgId, limit: limit, offset: offset)
            return (try page.rows.map(PhoneNumberRecord.init(postgres:)), page.total)
        }
    }

    public func phoneNumber(orgId: String, id: String) throws -> PhoneNumberRecord? {
        try database.read { connection in
            try connection.query(
                """
                SELECT \(ResourceColumns.phoneNumber) FROM phone_numbers
                WHERE org_id = $1 AND (id = $2 OR provider_id = $2) ORDER BY (id = $2) DESC LIMIT 1
                """,
                [orgId, id]
            ).first.map(PhoneNumberRecord.init(postgres:))
        }
    }

    /// In creation order: SQLite names no order and returns rowid (insertion) order, which a heap does
    /// not keep after updates.
    public func phoneNumbersWithProviderIds() throws -> [PhoneNumberRecord] {
        try database.read { connection in
            try connection.query(
                "SELECT \(ResourceColumns.phoneNumber) FROM phone_numbers WHERE provider_id IS NOT NULL ORDER BY created_at, id"
            ).rows.map(PhoneNumberRecord.init(postgres:))
        }
    }

    public func phoneNumberExists(number: String) throws -> Bool {
        try database.read { connection in
            try connection.query("SELECT 1 FROM phone_numbers WHERE number = $1", [number]).count > 0
        }
    }

    public func insertPhoneNumber(_ r: PhoneNumberRecord, completing operation: String?) throws {
        try database.write { connection in
            // One statement, where SQLite checks and then inserts: of two hosts registering the number at
            // once, the second inserts nothing and reports the same conflict.
            let inserted = try connection.execute(
                """
                INSERT INTO phone_numbers (id, org_id, provider, number, name, assistant_id, provider_id, credentials,
                    created_at, updated_at, version, missing_syncs)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (number) DO NOTHING
                """,
                [r.id, r.orgId, r.provider, r.number, r.name, r.assistantId, r.providerId, r.credentials, r.createdAt,
                 r.updatedAt, r.version, r.missingSyncs])
            if inserted == 0 { throw StoreError.conflict("The number \(r.number) is already registered") }
            try Self.complete(connection, operation)
        }
    }

    /// Credentials are set only by the insert, as on SQLite. A number another row holds is refused with the
    /// insert's words: the client would otherwise read the constraint's name (SQLite throws its raw
    /// constraint error here; the routes check the number first, so only a race gets this far).
    public func updatePhoneNumber(_ r: PhoneNumberRecord, completing operation: String?) throws -> Int {
        try database.write { connection in
            let changed: Int
            do {
                changed = try connection.execute(
                    """
                    UPDATE phone_numbers SET number = $1, name = $2, assistant_id = $3, provider_id = $4, updated_at = $5,
                        version = version + 1
                    WHERE id = $6 AND org_id = $7 AND version = $8
                    """,
                    [r.number, r.name, r.assistantId, r.providerId, r.updatedAt, r.id, r.orgId, r.version])
            } catch let error as PostgresError where error.constraint == "phone_numbers_number_key" {
                throw StoreError.conflict("The number \(r.number) is already registered")
            }
            try Self.requireChange(connection, changed, "phone_numbers", "Phone number", id: r.id)
            try Self.complete(connection, operation)
            return r.version + 1
        }
    }

    public func deletePhoneNumber(orgId: String, id: String, version: Int?, completing operation: String?) throws {
        try database.write { connection in
            let changed = try connection.execute(
                "DELETE FROM phone_numbers WHERE id = $1 AND org_id = $2 AND ($3::integer IS NULL OR version = $3)",
                [id, orgId, version])
            try Self.requireChange(connection, changed, "phone_numbers", "Phone number", id: id)
            try Self.complete(connection, operation)
        }
    }

    /// Leaves the version alone: the count is the sync's bookkeeping, not an edit a client could conflict with.
    public func setPhoneNumberMissingSyncs(id: String, _ count: Int) throws {
        try database.write { connection in
            try connection.execute("UPDATE phone_numbers SET missing_syncs = $2 WHERE id = $1", [id, count])
        }
    }
}
