import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// An assistant's knowledge base (addition): /api/assistants/{id}/knowledge[/{entryId}], and a bulk import.
enum KnowledgeRoutes {
    struct EntryBody: Decodable {
        let title: String
        let content: String
        let questions: Patch<[String]>
    }

    struct EntryPatch: Decodable {
        let title: Patch<String>
        let content: Patch<String>
        let questions: Patch<[String]>
    }

    struct ImportBody: Decodable { let entries: [EntryBody] }

    struct EntryJSON: Encodable {
        let id, assistantId, title, content: String
        let questions: [String]
        let createdAt, updatedAt: String
        init(_ e: KnowledgeEntry) {
            id = e.id; assistantId = e.assistantId; title = e.title; content = e.content; questions = e.questions
            createdAt = e.createdAt; updatedAt = e.updatedAt
        }
    }

    static let maxImport = 5000

    static func assistant(_ action: Action, _ request: Request, _ context: AppContext) throws -> (Principal, DocumentRecord) {
        let principal = try Authenticator.require(.agents, action, request, context)
        guard let assistant = try context.resources.document(.assistant, orgId: principal.orgId, id: request.param("id")) else {
            throw APIError.notFound("Assistant")
        }
        return (principal, assistant)
    }

    static func validate(title: String, content: String, questions: [String], field: String = "") throws {
        try Validate.nonEmpty(title, field: field + "title", max: 200)
        try Validate.nonEmpty(content, field: field + "content", max: 20_000)
        guard questions.count <= 20 else { throw APIError.badRequest("Invalid value for field: \(field)questions (at most 20)") }
        for (i, q) in questions.enumerated() {
            try Validate.nonEmpty(q, field: "\(field)questions[\(i)]", max: 500)
            // Stored one per line.
            guard !q.contains("\n") else { throw APIError.badRequest("Invalid value for field: \(field)questions[\(i)] (one line)") }
        }
    }

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let (principal, assistant) = try self.assistant(.read, request, context)
        let page = try Validate.page(request)
        let result = try context.chats.knowledgeEntries(orgId: principal.orgId, assistantId: assistant.id, limit: page.limit, offset: page.offset)
        var response = try Response.json(result.items.map(EntryJSON.init))
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    static func make(_ body: EntryBody, _ principal: Principal, _ assistant: DocumentRecord, _ context: AppContext, field: String = "") throws -> KnowledgeEntry {
        let questions = try body.questions.required(field + "questions") ?? []
        try validate(title: body.title, content: body.content, questions: questions, field: field)
        let now = Timestamp.format(context.now)
        return KnowledgeEntry(
            id: context.ids.next("kb"), orgId: principal.orgId, assistantId: assistant.id, title: body.title,
            content: body.content, questions: questions, createdAt: now, updatedAt: now)
    }

    static func create(_ request: Request, _ context: AppContext) throws -> Response {
        let (principal, assistant) = try self.assistant(.write, request, context)
        let entry = try make(try JSON.decode(EntryBody.self, from: request), principal, assistant, context)
        try principal.audit(request, context, "knowledge.create", AuditTarget("knowledge_entry", entry.id), try changes(from: nil, to: entry)) {
            try context.chats.insertKnowledge([entry])
        }
        return try Response.json(EntryJSON(entry), status: 201).withETag(entry.version)
    }

    /// Many entries in one request, all or nothing: one invalid entry is a 400 naming it, and none is added.
    static func importEntries(_ request: Request, _ context: AppContext) throws -> Response {
        let (principal, assistant) = try self.assistant(.write, request, context)
        let body = try JSON.decode(ImportBody.self, from: request)
        guard !body.entries.isEmpty, body.entries.count <= maxImport else {
            throw APIError.badRequest("Invalid value for field: entries (1 to \(maxImport) entries)")
        }
        let entries = try body.entries.enumerated().map { i, e in try make(e, principal, assistant, context, field: "entries[\(i)].") }
        // One entry for the whole import: its size, not every text.
        try principal.audit(
            request, context, "knowledge.import", AuditTarget("assistant", assistant.id), ["count": .object(["new": .int(entries.count)])]
        ) { try context.chats.insertKnowledge(entries) }
        return try Response.json(["imported": entries.count], status: 201)
    }

    static func find(_ action: Action, _ request: Request, _ context: AppContext) throws -> KnowledgeEntry {
        let (principal, assistant) = try self.assistant(action, request, context)
        guard let entry = try context.chats.knowledgeEntry(orgId: principal.orgId, assistantId: assistant.id, id: request.param("entryId")) else {
            throw APIError.notFound("Knowledge entry")
        }
        return entry
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        let entry = try find(.read, request, context)
        return try Response.json(EntryJSON(entry)).withETag(entry.version)
    }

    /// Applied to the current entry and written conditionally on its version (see `OptimisticWrite`).
    static func update(_ request: Request, _ context: AppContext) throws -> Response {
        let patch = try JSON.decode(EntryPatch.self, from: request)
        let title = try patch.title.required("title")
        let content = try patch.content.required("content")
        let principal = try Authenticator.require(.agents, .write, request, context)
        let entry = try OptimisticWrite.run(context, key: "knowledge/\(request.param("id"))/\(request.param("entryId"))") {
            var entry = try find(.write, request, context)
            let before = entry
            try ETag.check(request, version: entry.version)
            if let title { entry.title = title }
            if let content { entry.content = content }
            switch patch.questions {
            case .absent: break
            case .null: entry.questions = []
            case .value(let questions): entry.questions = questions
            }
            try validate(title: entry.title, content: entry.content, questions: entry.questions)
            entry.updatedAt = Timestamp.format(context.now)
            entry.version = try principal.audit(
                request, context, "knowledge.update", AuditTarget("knowledge_entry", entry.id), try changes(from: before, to: entry),
                skipEmpty: true
            ) { try context.chats.updateKnowledge(entry) }
            return entry
        }
        return try Response.json(EntryJSON(entry)).withETag(entry.version)
    }

    static func delete(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.agents, .write, request, context)
        let entry = try find(.write, request, context)
        try ETag.check(request, version: entry.version)
        do {
            try principal.audit(request, context, "knowledge.delete", AuditTarget("knowledge_entry", entry.id), try changes(from: entry, to: nil)) {
                try context.chats.deleteKnowledge(
                    orgId: entry.orgId, assistantId: entry.assistantId, id: entry.id,
                    version: ETag.deleteVersion(request, read: entry.version))
            }
        } catch StoreError.stale {
            throw ETag.changed
        }
        return try Response.json(SuccessJSON())
    }

    /// An entry's fields for the audit log (as the API shows them, without its id and dates).
    static func changes(from old: KnowledgeEntry?, to new: KnowledgeEntry?) throws -> [String: JSONValue] {
        let ignoring: Set<String> = ["id", "createdAt", "updatedAt"]
        return AuditTrail.changes(
            from: try old.map { try AuditTrail.fields(EntryJSON($0), ignoring: ignoring) },
            to: try new.map { try AuditTrail.fields(EntryJSON($0), ignoring: ignoring) })
    }
}
