import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// /api/assistants: the seed's Assistants operations.
typealias AssistantRoutes = DocumentRoutes<AssistantConfig>
/// /api/tools: the seed's Tools operations. The `provider` label is stored locally only; a function tool's
/// `server.secret` goes to the platform, is stored sealed, and never appears in a response.
typealias ToolRoutes = DocumentRoutes<ToolConfig>

/// Assistants and tools alike: `{id}` is the local id or the platform's. A write decodes the body once into
/// its model, `DocumentService` does the rest, and the answer is the stored record with its version as ETag.
enum DocumentRoutes<Config: StoredConfig> {
    static var area: Area { Config.kind == .assistant ? .agents : .integrations }

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(area, .read, request, context)
        let page = try Validate.page(request)
        let result = try context.resources.documents(Config.kind, orgId: principal.orgId, limit: page.limit, offset: page.offset)
        var response = Response.rawJSONArray(result.bodies)
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(area, .read, request, context)
        let record = try DocumentService<Config>(context).find(request.param("id"), orgId: principal.orgId)
        return Response.rawJSON(record.body).withETag(record.version)
    }

    static func create(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(area, .write, request, context)
        let config = try JSON.decode(NullChecked<Config>.self, from: request).value
        let record = try DocumentService<Config>(context).create(config, orgId: principal.orgId, by: principal.origin(request))
        return Response.rawJSON(record.body, status: 201).withETag(record.version)
    }

    /// A JSON merge patch: absent fields stay, `null` clears a field.
    static func update(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(area, .write, request, context)
        let patch = try JSON.decode([String: JSONValue].self, from: request)
        let record = try DocumentService<Config>(context).update(
            id: request.param("id"), orgId: principal.orgId, patch: patch, ifMatch: ETag.ifMatch(request), by: principal.origin(request))
        return Response.rawJSON(record.body).withETag(record.version)
    }

    static func delete(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(area, .write, request, context)
        try DocumentService<Config>(context).delete(id: request.param("id"), orgId: principal.orgId, ifMatch: ETag.ifMatch(request), by: principal.origin(request))
        return try Response.json(SuccessJSON())
    }
}
