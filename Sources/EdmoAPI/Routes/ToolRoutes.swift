import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// /api/tools: the seed's Tools operations. The `provider` label is stored locally only; a function tool's
/// `server.secret` goes to the platform, is stored sealed, and never appears in a response.
enum ToolRoutes {
    static let spec = DocumentSpec(ToolConfig.self, kind: .tool, area: .integrations, idPrefix: "tool", collection: "tool")

    /// The fields the seed marks nullable; a null anywhere else in a create body is a 400.
    static let nullable: Set<String> = [
        "provider", "async", "messages", "server", "server.secret", "server.timeoutSeconds", "description",
        "timeoutSeconds", "name", "metadata", "metadata.*", "function.parameters.properties.*",
    ]

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        try DocumentRoutes.list(spec, request, context)
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        try DocumentRoutes.get(spec, request, context)
    }

    static func create(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.integrations, .write, request, context)
        var fields = try DocumentRoutes.bodyObject(request)
        try JSONValue.object(fields).rejectNulls(nullable: nullable)
        let label = try self.label(fields.removeValue(forKey: "provider"))
        let config = try spec.canonicalize(.object(fields)).objectValue ?? [:]
        try guardURLs(config, context)
        let secret = config["server"]?["secret"]?.stringValue
        let document = Document(config: config, local: label.map { ["provider": .string($0)] } ?? [:])
        let record = try DocumentRoutes.create(spec, document, principal, context) { record, operation in
            try context.resources.insertDocument(
                .tool, try withoutSecret(record), secret: try secret.map { try context.seal(Array($0.utf8)) }, completing: operation)
        }
        return Response.rawJSON(try withoutSecret(record).body, status: 201).withETag(record.version)
    }

    /// A merge patch like the assistants'. Changing `server.url` drops the stored `server.secret` unless
    /// the same request gives one: the platform sends the secret to that URL, so whoever may edit a tool
    /// must not be able to redirect a secret they cannot read.
    static func update(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.integrations, .write, request, context)
        var patch = try DocumentRoutes.bodyObject(request)
        let label = try patch.removeValue(forKey: "provider").map { try self.label($0) }
        let record = try DocumentRoutes.update(
            spec, principal, request, context,
            stored: { try Document.platformTool($0, context) },
            merge: { old in
                var merged = try spec.canonicalize(JSONValue.object(old.config).merged(with: .object(patch))).objectValue ?? [:]
                if merged["server"]?["url"] != old.config["server"]?["url"], patch["server"]?["secret"] == nil,
                   case .object(var server)? = merged["server"] {
                    server.removeValue(forKey: "secret")
                    merged["server"] = .object(server)
                }
                try guardURLs(merged, context)
                var local = old.local
                if let label { local = label.map { ["provider": .string($0)] } ?? [:] }
                return Document(config: merged, local: local)
            },
            store: { record, new, operation in
                let storedSecret = try context.resources.toolSecret(toolId: record.id).map { String(decoding: try context.unseal($0), as: UTF8.self) }
                let newSecret = new.config["server"]?["secret"]?.stringValue
                let change: SecretChange = newSecret == storedSecret ? .keep
                    : try newSecret.map { .set(try context.seal(Array($0.utf8))) } ?? .clear
                return try context.resources.updateDocument(.tool, try withoutSecret(record), secret: change, completing: operation)
            })
        return Response.rawJSON(try withoutSecret(record).body).withETag(record.version)
    }

    static func delete(_ request: Request, _ context: AppContext) throws -> Response {
        try DocumentRoutes.delete(spec, request, context)
    }

    /// Tool and MCP server URLs may not point at this host or a private network (SSRF), unless
    /// EDMO_ALLOW_PRIVATE_URLS is set.
    static func guardURLs(_ config: [String: JSONValue], _ context: AppContext) throws {
        guard !context.config.allowPrivateURLs else { return }
        for (field, value) in [("url", config["url"]), ("server.url", config["server"]?["url"])] {
            if let text = value?.stringValue, let host = URL(string: text)?.host, AddressGuard.isPrivateHost(host) {
                throw APIError.badRequest("Invalid value for field: \(field) (not this host or a private network)")
            }
        }
    }

    static func label(_ value: JSONValue?) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let s)?:
            try Validate.text(s, field: "provider", max: 100)
            return s.isEmpty ? nil : s
        default: throw APIError.badRequest("Invalid value for field: provider (a string)")
        }
    }

    static func withoutSecret(_ record: DocumentRecord) throws -> DocumentRecord {
        guard record.body.contains("\"secret\""),
              case .object(var fields) = try JSONValue.parse(Array(record.body.utf8)),
              case .object(var server)? = fields["server"], server["secret"] != nil
        else { return record }
        server.removeValue(forKey: "secret")
        fields["server"] = .object(server)
        var copy = record
        copy.body = String(decoding: try JSON.encode(JSONValue.object(fields)), as: UTF8.self)
        return copy
    }
}
