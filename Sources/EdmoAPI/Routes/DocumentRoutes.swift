import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// What differs between assistants and tools; the shared flow is in `DocumentRoutes`.
struct DocumentSpec: Sendable {
    let kind: DocumentKind
    let area: Area
    let idPrefix: String
    /// The voice platform's collection (`assistant`, `tool`).
    let collection: String
    /// Decodes and validates a whole configuration; returns it in canonical form (known fields only).
    let canonicalize: @Sendable (JSONValue) throws -> JSONValue

    init<Config: ValidatedConfig>(_ config: Config.Type, kind: DocumentKind, area: Area, idPrefix: String, collection: String) {
        self.kind = kind
        self.area = area
        self.idPrefix = idPrefix
        self.collection = collection
        canonicalize = { value in
            let decoded = try value.decode(Config.self)
            try decoded.validate()
            return try JSONValue(encoding: decoded)
        }
    }
}

/// A configuration model that checks the rules its types alone do not say.
protocol ValidatedConfig: Codable {
    func validate() throws
}

extension AssistantConfig: ValidatedConfig {}
extension ToolConfig: ValidatedConfig {}


enum DocumentRoutes {
    static func list(_ spec: DocumentSpec, _ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(spec.area, .read, request, context)
        let page = try Validate.page(request)
        let result = try context.resources.documents(spec.kind, orgId: principal.orgId, limit: page.limit, offset: page.offset)
        var response = Response.rawJSON("[" + result.bodies.joined(separator: ",") + "]")
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    static func get(_ spec: DocumentSpec, _ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(spec.area, .read, request, context)
        let record = try find(spec, principal, request, context)
        return Response.rawJSON(record.body).withETag(record.version)
    }

    static func find(_ spec: DocumentSpec, _ principal: Principal, _ request: Request, _ context: AppContext) throws -> DocumentRecord {
        guard let record = try context.resources.document(spec.kind, orgId: principal.orgId, id: request.param("id")) else {
            throw APIError.notFound(spec.kind.label)
        }
        return record
    }

    /// The request body as a JSON object, without the fields the server owns.
    static func bodyObject(_ request: Request) throws -> [String: JSONValue] {
        guard !request.body.isEmpty else { throw APIError.badRequest("Request body is required") }
        guard case .object(var fields) = try JSONValue.parse(request.body) else {
            throw APIError.badRequest("Request body must be a JSON object")
        }
        for key in Document.serverFields { fields.removeValue(forKey: key) }
        return fields
    }

    /// Creates on the platform first (tagged with our id in `metadata.edmoId`, so a crash leaves nothing
    /// unfindable), then locally. `store` gets the new record and the operation to complete with it.
    static func create(
        _ spec: DocumentSpec, _ document: Document, _ principal: Principal, _ context: AppContext,
        store: (DocumentRecord, String?) throws -> Void
    ) throws -> DocumentRecord {
        let id = context.ids.next(spec.idPrefix)
        let now = Timestamp.format(context.now)
        var created: DocumentRecord?
        try ProviderWrite(context: context).run(
            opKind(spec), .create, orgId: principal.orgId, localId: id,
            remote: { platform in
                try VoicePlatform.id(of: platform.create(spec.collection, Document.tagged(document.config, id: id)))
            },
            local: { providerId, operation in
                let record = try document.record(id: id, orgId: principal.orgId, providerId: providerId, createdAt: now, updatedAt: now)
                try store(record, operation)
                created = record
            },
            compensate: { platform, providerId in try platform.delete(spec.collection, id: providerId) })
        return created!
    }

    /// A PATCH: reads the current record, `merge`s the request into it (`stored` gives the document as the
    /// platform knows it), sends the result to the platform (vapi mode) and writes it conditionally on the
    /// version read; a lost race runs all of it again on the newer row (`OptimisticWrite`), so concurrent
    /// PATCHes of different fields all survive. `store` writes the record and returns its new version.
    static func update(
        _ spec: DocumentSpec, _ principal: Principal, _ request: Request, _ context: AppContext,
        stored: (DocumentRecord) throws -> Document,
        merge: (Document) throws -> Document,
        store: (DocumentRecord, Document, String?) throws -> Int
    ) throws -> DocumentRecord {
        try OptimisticWrite.run(context, key: "\(spec.kind.rawValue)/\(principal.orgId)/\(request.param("id"))") {
            let existing = try find(spec, principal, request, context)
            try ETag.check(request, version: existing.version)
            let new = try merge(try stored(existing))
            let now = Timestamp.format(context.now)
            var updated: DocumentRecord?
            try ProviderWrite(context: context).run(
                opKind(spec), .update, orgId: existing.orgId, localId: existing.id,
                remote: { platform in
                    guard let providerId = existing.providerId else { return }
                    _ = try platform.update(spec.collection, id: providerId, Document.tagged(new.config, id: existing.id))
                },
                local: { _, operation in
                    var record = try new.record(
                        id: existing.id, orgId: existing.orgId, providerId: existing.providerId,
                        createdAt: existing.createdAt, updatedAt: now)
                    record.version = existing.version
                    record.version = try store(record, new, operation)
                    updated = record
                },
                compensate: { platform, _ in
                    // Mirror what is stored now: another writer may have changed it since it was read.
                    guard let providerId = existing.providerId else { return }
                    let document = try stored(try find(spec, principal, request, context))
                    _ = try platform.update(spec.collection, id: providerId, Document.tagged(document.config, id: existing.id))
                })
            return updated!
        }
    }

    static func delete(_ spec: DocumentSpec, _ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(spec.area, .write, request, context)
        let existing = try find(spec, principal, request, context)
        try ETag.check(request, version: existing.version)
        do {
            try ProviderWrite(context: context).run(
                opKind(spec), .delete, orgId: principal.orgId, localId: existing.id,
                remote: { platform in
                    if let providerId = existing.providerId { try platform.delete(spec.collection, id: providerId) }
                },
                local: { _, operation in
                    // Once the platform has deleted it, the local copy goes too (If-Match was checked above).
                    let platformDeleted = context.platform != nil && existing.providerId != nil
                    try context.resources.deleteDocument(
                        spec.kind, orgId: principal.orgId, id: existing.id,
                        version: platformDeleted ? nil : ETag.deleteVersion(request, read: existing.version),
                        completing: operation)
                })
        } catch StoreError.stale {
            throw ETag.changed  // only a conditional delete can be stale
        }
        return try Response.json(SuccessJSON())
    }


    static func opKind(_ spec: DocumentSpec) -> ProviderOperation.Kind {
        spec.kind == .assistant ? .assistant : .tool
    }
}
