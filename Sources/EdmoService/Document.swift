import EdmoCore
import EdmoStore
import Foundation

/// A stored assistant or tool read back as JSON: the configuration without the fields the server owns.
public struct Document {
    public static let serverFields = ServerFields.document

    public var config: [String: JSONValue]
    /// Fields stored alongside the configuration but never sent to the platform (a tool's `provider` label).
    public var local: [String: JSONValue] = [:]
    /// A tool's `server.secret`, stored sealed apart from the body (read by `init(platform:)` only).
    public var secret: String?

    /// The stored body as it was read, server fields and all (what an audit diff compares).
    public let stored: JSONValue

    public init(stored record: DocumentRecord, localKeys: Set<String>) throws {
        stored = try JSONValue.parse(Array(record.body.utf8))
        guard case .object(var fields) = stored else {
            throw StoreError.conflict("A stored document is not a JSON object")
        }
        for key in Self.serverFields { fields.removeValue(forKey: key) }
        for key in localKeys { local[key] = fields.removeValue(forKey: key) }
        config = fields
    }

    /// A stored document as the platform knows it: the local fields apart, a tool's secret put back.
    public init(platform record: DocumentRecord, _ kind: DocumentKind, _ context: AppContext) throws {
        try self.init(platform: record, kind, sealedSecret: kind == .tool ? try context.resources.toolSecret(toolId: record.id) : nil, context)
    }

    /// The same with the tool's sealed secret already read (inside a store's write).
    public init(platform record: DocumentRecord, _ kind: DocumentKind, sealedSecret: [UInt8]?, _ context: AppContext) throws {
        try self.init(stored: record, localKeys: kind.localFields)
        guard kind == .tool, let sealed = sealedSecret else { return }
        let secret = String(decoding: try context.unseal(sealed), as: UTF8.self)
        self.secret = secret
        if case .object(var server)? = config["server"] {
            server["secret"] = .string(secret)
            config["server"] = .object(server)
        }
    }

    /// The configuration as sent to the voice platform: tagged with our id in `metadata.edmoId`, so a
    /// crash between the platform's write and ours leaves nothing unfindable.
    public static func tagged(_ config: [String: JSONValue], id: String) -> JSONValue {
        var config = config
        config["metadata"] = (config["metadata"] ?? .object([:])).merged(with: .object(["edmoId": .string(id)]))
        return .object(config)
    }
}

/// A document as stored and returned: the configuration's fields and the server's in one JSON object,
/// encoded once from the typed configuration.
struct StoredDocument<Config: Encodable>: Encodable {
    let config: Config
    let record: DocumentRecord

    enum Key: String, CodingKey { case id, orgId, providerId, createdAt, updatedAt }

    func encode(to encoder: Encoder) throws {
        try config.encode(to: encoder)
        var server = encoder.container(keyedBy: Key.self)
        try server.encode(record.id, forKey: .id)
        try server.encode(record.orgId, forKey: .orgId)
        try server.encode(record.providerId, forKey: .providerId)  // null until the platform has it
        try server.encode(record.createdAt, forKey: .createdAt)
        try server.encode(record.updatedAt, forKey: .updatedAt)
    }
}
