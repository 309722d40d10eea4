import EdmoCore
import EdmoStore
import Foundation
import GRDB

/// Organisation settings: columns of `organizations`.
extension SQLiteAccountStore {
    public func settings(orgId: String) throws -> OrganizationSettings? {
        try database.read { db in try Self.fetchSettings(db, orgId: orgId) }
    }

    public func updateSettings(orgId: String, _ settings: OrganizationSettings) throws -> OrganizationSettings {
        try database.write { db in
            guard let previous = try Self.fetchSettings(db, orgId: orgId) else { throw StoreError.notFound("Organization") }
            try db.execute(cached: "UPDATE organizations SET retention_days = ? WHERE id = ?", arguments: [settings.retentionDays, orgId])
            return previous
        }
    }

    public func organizationSettings() throws -> [(organization: Organization, settings: OrganizationSettings)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, retention_days FROM organizations ORDER BY id").map { row in
                (organization: Organization(id: row["id"], name: row["name"]), settings: OrganizationSettings(retentionDays: row["retention_days"]))
            }
        }
    }

    static func fetchSettings(_ db: GRDB.Database, orgId: String) throws -> OrganizationSettings? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT retention_days FROM organizations WHERE id = ?"), arguments: [orgId]).map { row in
            OrganizationSettings(retentionDays: row["retention_days"])
        }
    }
}
