import EdmoCore
import EdmoStore
import Foundation
import GRDB

/// A row of `phone_numbers`. Never written whole after the insert: updates are conditional on the version,
/// and a full-row update would also fire the trigger that raises the version when the assistant changes.
struct PhoneNumberRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "phone_numbers"

    var id: String
    var orgId: String
    var provider: String
    var number: String
    var name: String?
    var assistantId: String?
    var providerId: String?
    /// Sealed JSON (Twilio or Vonage).
    var credentials: Data?
    var createdAt: String
    var updatedAt: String
    var version: Int
    var missingSyncs: Int

    enum CodingKeys: String, CodingKey {
        case id, orgId = "org_id", provider, number, name, assistantId = "assistant_id", providerId = "provider_id"
        case credentials, createdAt = "created_at", updatedAt = "updated_at", version, missingSyncs = "missing_syncs"
    }

    init(_ r: PhoneNumberRecord) {
        id = r.id; orgId = r.orgId; provider = r.provider; number = r.number; name = r.name; assistantId = r.assistantId
        providerId = r.providerId; credentials = r.credentials.map { Data($0) }; createdAt = r.createdAt
        updatedAt = r.updatedAt; version = r.version; missingSyncs = r.missingSyncs
    }

    var record: PhoneNumberRecord {
        PhoneNumberRecord(
            id: id, orgId: orgId, provider: provider, number: number, name: name, assistantId: assistantId,
            providerId: providerId, credentials: credentials.map { Array($0) }, createdAt: createdAt, updatedAt: updatedAt,
            version: version, missingSyncs: missingSyncs)
    }
}

/// A row of `tool_secrets`: a tool's server secret, sealed.
struct ToolSecretRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "tool_secrets"

    var toolId: String
    var sealed: Data

    enum CodingKeys: String, CodingKey {
        case toolId = "tool_id", sealed
    }
}

/// A row of `provider_operations`.
struct ProviderOperationRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "provider_operations"

    var id: String
    var orgId: String
    /// Text rather than the store's enums: a row this build does not know is skipped, not an error.
    var kind: String
    var action: String
    var localId: String
    var owner: String
    var startedAt: String

    enum CodingKeys: String, CodingKey {
        case id, orgId = "org_id", kind, action, localId = "local_id", owner, startedAt = "started_at"
    }

    init(_ op: ProviderOperation) {
        id = op.id; orgId = op.orgId; kind = op.kind.rawValue; action = op.action.rawValue; localId = op.localId
        owner = op.owner; startedAt = op.startedAt
    }

    var operation: ProviderOperation? {
        guard let kind = ProviderOperation.Kind(rawValue: kind), let action = ProviderOperation.Action(rawValue: action) else {
            return nil
        }
        return ProviderOperation(id: id, orgId: orgId, kind: kind, action: action, localId: localId, owner: owner, startedAt: startedAt)
    }
}
