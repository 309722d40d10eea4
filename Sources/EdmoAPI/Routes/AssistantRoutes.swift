import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// /api/assistants: the seed's Assistants operations. `{id}` is the local id or the platform's id.
enum AssistantRoutes {
    static let spec = DocumentSpec(AssistantConfig.self, kind: .assistant, area: .agents, idPrefix: "asst", collection: "assistant")

    /// The fields the seed marks nullable; a null anywhere else in a create body is a 400. (The seed marks
    /// `firstMessageMode` nullable but its enum has no null, so OpenAPI 3.0 forbids null there.)
    static let nullable: Set<String> = [
        "firstMessage", "transcriber.model", "voicemailMessage", "endCallMessage",
        "endCallPhrases", "metadata", "metadata.*", "maxDurationSeconds", "backgroundSound", "recordingEnabled",
    ]

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        try DocumentRoutes.list(spec, request, context)
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        try DocumentRoutes.get(spec, request, context)
    }

    static func create(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.agents, .write, request, context)
        let body = JSONValue.object(try DocumentRoutes.bodyObject(request))
        try body.rejectNulls(nullable: nullable)
        let config = try spec.canonicalize(body)
        let record = try DocumentRoutes.create(spec, Document(config: config.objectValue ?? [:]), principal, context) { record, operation in
            try context.resources.insertDocument(.assistant, record, secret: nil, completing: operation)
        }
        return Response.rawJSON(record.body, status: 201).withETag(record.version)
    }

    /// A partial update (JSON merge patch): absent fields stay, `null` clears a field.
    static func update(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.agents, .write, request, context)
        let patch = try DocumentRoutes.bodyObject(request)
        let record = try DocumentRoutes.update(
            spec, principal, request, context,
            stored: { try Document(stored: $0, localKeys: []) },
            merge: { old in
                Document(config: try spec.canonicalize(JSONValue.object(old.config).merged(with: .object(patch))).objectValue ?? [:])
            },
            store: { record, _, operation in
                try context.resources.updateDocument(.assistant, record, secret: .keep, completing: operation)
            })
        return Response.rawJSON(record.body).withETag(record.version)
    }

    /// Numbers attached to the assistant are detached (the database does it: ON DELETE SET NULL).
    static func delete(_ request: Request, _ context: AppContext) throws -> Response {
        try DocumentRoutes.delete(spec, request, context)
    }
}
