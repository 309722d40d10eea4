import EdmoCore
import EdmoStore
import Foundation

/// Organisation settings: columns of `organizations`.
extension PostgresAccountStore {
    public func settings(orgId: String) throws -> OrganizationSettings? {
        try database.read { connection in
            try connection.query("SELECT retention_days FROM organizations WHERE id = $1", [orgId]).first.map { row in
                OrganizationSettings(retentionDays: try row["retention_days"])
            }
        }
    }

    /// The row is locked while the old value is read, so of two changes at once each returns the one it replaced.
    public func updateSettings(orgId: String, _ settings: OrganizationSettings) throws -> OrganizationSettings {
        try database.write { connection in
            guard let row = try connection.query(
                "SELECT retention_days FROM organizations WHERE id = $1 FOR NO KEY UPDATE", [orgId]).first
            else { throw StoreError.notFound("Organization") }
            let previous = OrganizationSettings(retentionDays: try row["retention_days"])
            try connection.execute("UPDATE organizations SET retention_days = $1 WHERE id = $2", [settings.retentionDays, orgId])
            return previous
        }
    }

    public func organizationSettings() throws -> [(organization: Organization, settings: OrganizationSettings)] {
        try database.read { connection in
            try connection.query("SELECT id, name, retention_days FROM organizations ORDER BY id").rows.map { row in
                (organization: Organization(id: try row["id"], name: try row["name"]),
                 settings: OrganizationSettings(retentionDays: try row["retention_days"]))
            }
        }
    }
}
