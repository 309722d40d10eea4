import EdmoProviders
import EdmoCore
import EdmoStore
import Foundation

/// An assistant or tool as the services see it: the client's configuration plus the fields the server owns.
public struct Document {
    public static let serverFields: Set<String> = ["id", "orgId", "createdAt", "updatedAt", "providerId"]

    public var config: [String: JSONValue]
    /// Fields stored alongside the configuration but never sent to the platform (a tool's `provider` label).
    public var local: [String: JSONValue] = [:]

    public init(config: [String: JSONValue], local: [String: JSONValue] = [:]) {
        self.config = config
        self.local = local
    }

    public init(stored record: DocumentRecord, localKeys: Set<String>) throws {
        guard case .object(var fields) = try JSONValue.parse(Array(record.body.utf8)) else {
            throw StoreError.conflict("A stored document is not a JSON object")
        }
        for key in Self.serverFields { fields.removeValue(forKey: key) }
        for key in localKeys { local[key] = fields.removeValue(forKey: key) }
        config = fields
    }

    public func record(id: String, orgId: String, providerId: String?, createdAt: String, updatedAt: String) throws -> DocumentRecord {
        var fields = config.merging(local) { a, _ in a }
        fields["id"] = .string(id)
        fields["orgId"] = .string(orgId)
        fields["createdAt"] = .string(createdAt)
        fields["updatedAt"] = .string(updatedAt)
        fields["providerId"] = providerId.map(JSONValue.string) ?? .null
        let body = String(decoding: try JSON.encode(JSONValue.object(fields)), as: UTF8.self)
        return DocumentRecord(id: id, orgId: orgId, providerId: providerId, body: body, createdAt: createdAt, updatedAt: updatedAt)
    }

    /// The configuration as sent to the voice platform: tagged with our id in `metadata.edmoId`, so a
    /// crash between the platform's write and ours leaves nothing unfindable.
    public static func tagged(_ config: [String: JSONValue], id: String) -> JSONValue {
        var config = config
        config["metadata"] = (config["metadata"] ?? .object([:])).merged(with: .object(["edmoId": .string(id)]))
        return .object(config)
    }

    /// A stored tool as the platform knows it: the whole server object, secret included.
    public static func platformTool(_ record: DocumentRecord, _ context: AppContext) throws -> Document {
        var document = try Document(stored: record, localKeys: ["provider"])
        let secret = try context.resources.toolSecret(toolId: record.id).map { String(decoding: try context.unseal($0), as: UTF8.self) }
        if let secret, case .object(var server)? = document.config["server"] {
            server["secret"] = .string(secret)
            document.config["server"] = .object(server)
        }
        return document
    }
}
