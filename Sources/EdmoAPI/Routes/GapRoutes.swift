import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// Knowledge gaps (addition): questions assistants could not answer. GET /api/knowledge-gaps and
/// POST /api/knowledge-gaps/{id}/resolve, which answers one by adding a knowledge entry.
enum GapRoutes {
    struct GapJSON: Encodable {
        let id, assistantId, question: String
        let occurrences: Int
        let priority, status: String
        @Nullable var resolvedEntryId: String?
        let createdAt, updatedAt: String
        init(_ g: KnowledgeGap) {
            id = g.id; assistantId = g.assistantId; question = g.question; occurrences = g.occurrences
            priority = g.priority; status = g.status; resolvedEntryId = g.resolvedEntryId
            createdAt = g.createdAt; updatedAt = g.updatedAt
        }
    }

    struct ResolveBody: Decodable {
        let answer: String
        let title: String?
    }

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.agents, .read, request, context)
        let page = try Validate.page(request)
        var filter = GapFilter()
        if let assistantId = request.query["assistantId"], !assistantId.isEmpty {
            // A platform id works too; an unknown or foreign assistant simply has no gaps.
            filter.assistantId = try context.resources.document(.assistant, orgId: principal.orgId, id: assistantId)?.id ?? assistantId
        }
        filter.status = try oneOf(request.query["status"], ["pending", "resolved"], "status")
        filter.priority = try oneOf(request.query["priority"], ["low", "medium", "high"], "priority")
        let result = try context.chats.gaps(orgId: principal.orgId, filter: filter, limit: page.limit, offset: page.offset)
        var response = try Response.json(result.items.map(GapJSON.init))
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    static func oneOf(_ value: String?, _ allowed: [String], _ name: String) throws -> String? {
        guard let value, !value.isEmpty, value != "all" else { return nil }
        guard allowed.contains(value) else {
            throw APIError.badRequest("Invalid value for parameter: \(name) (\(allowed.joined(separator: ", ")) or all)")
        }
        return value
    }

    static func resolve(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.agents, .write, request, context)
        let body = try JSON.decode(ResolveBody.self, from: request)
        guard let gap = try context.chats.gap(orgId: principal.orgId, id: request.param("id")) else {
            throw APIError.notFound("Knowledge gap")
        }
        let title = body.title ?? String(gap.question.prefix(200))
        try KnowledgeRoutes.validate(title: title, content: body.answer, questions: [])
        let now = Timestamp.format(context.now)
        let question = gap.question.replacingOccurrences(of: "\n", with: " ")
        let entry = KnowledgeEntry(
            id: context.ids.next("kb"), orgId: principal.orgId, assistantId: gap.assistantId, title: title,
            content: body.answer, questions: question == title ? [] : [String(question.prefix(500))], createdAt: now, updatedAt: now)
        let resolved = try context.chats.resolveGap(orgId: principal.orgId, id: gap.id, entry: entry, now: context.now)
        // One entry for the resolution and the knowledge entry it added.
        try principal.audit(request, context, "knowledge_gap.resolve", AuditTarget("knowledge_gap", gap.id), [
            "status": .object(["old": .string(gap.status), "new": .string(resolved.status)]),
            "resolvedEntryId": .object(["old": .null, "new": .string(entry.id)]),
            "answer": .object(["new": .string(entry.content)]),
        ])
        return try Response.json(GapJSON(resolved))
    }
}
