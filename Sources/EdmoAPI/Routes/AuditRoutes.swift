import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// GET /api/audit-log and GET /api/audit-log.csv (additions): the organisation's audit log for its ADMINs
/// (the `users` permission), newest first. Read only: no route changes or deletes an entry, so any other
/// method on these paths is the router's 405.
enum AuditRoutes {
    static let columns = [
        "id", "at", "actorKind", "actorId", "actorLabel", "address", "action", "targetType", "targetId", "changes",
    ]
    /// Entries read per store page of the CSV export (as `ExportRoutes`).
    static let pageRows = 500

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .read, request, context)
        let filter = try self.filter(request, orgId: principal.orgId)
        let page = try Validate.page(request)
        let result = try context.audit.entries(filter, limit: page.limit, offset: page.offset)
        var response = Response.rawJSON("[" + result.items.map(json).joined(separator: ",") + "]")
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    /// Every matching entry (not one page), streamed a store page at a time, as the conversations export.
    static func csv(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .read, request, context)
        let filter = try self.filter(request, orgId: principal.orgId)
        let first = try context.audit.entries(filter, after: nil, limit: pageRows)
        var response = Response.streaming(contentType: "text/csv; charset=utf-8") { writer in
            try writer.write(Array(CSV.line(columns).utf8))
            var page = first
            while !page.isEmpty {
                var text = ""
                for entry in page { text += CSV.line(row(entry)) }
                try writer.write(Array(text.utf8))
                try writer.flush()
                guard page.count == pageRows, let last = page.last else { break }
                page = try context.audit.entries(filter, after: AuditCursor(after: last), limit: pageRows)
            }
        }
        response.addHeader("Content-Disposition", #"attachment; filename="audit-log.csv""#)
        return response
    }

    /// `actor` (a user's id or email), `action` (exact, or a prefix ending in `*`: `assistant.*`),
    /// `targetType`, `targetId`, and `from` / `to` (inclusive; a date, or a time in ISO 8601).
    static func filter(_ request: Request, orgId: String) throws -> AuditFilter {
        var filter = AuditFilter(orgId: orgId)
        filter.actor = try text(request, "actor")
        if let action = try text(request, "action") {
            if action.hasSuffix("*") { filter.actionPrefix = String(action.dropLast()) } else { filter.action = action }
        }
        filter.targetType = try text(request, "targetType")
        filter.targetId = try text(request, "targetId")
        filter.from = try time(request, "from", end: false)
        filter.before = try time(request, "to", end: true)
        return filter
    }

    static func text(_ request: Request, _ name: String) throws -> String? {
        guard let value = request.query[name], !value.isEmpty else { return nil }
        guard value.utf8.count <= 320 else { throw ValidationFailure("Invalid value for parameter: \(name) (at most 320 bytes)") }
        return value
    }

    /// A day (`2024-01-31`: from its start, or to its end) or a time (`2024-01-31T10:00:00Z`), as stored text.
    /// `end` gives the first time after the range, which the store reads as exclusive.
    static func time(_ request: Request, _ name: String, end: Bool) throws -> String? {
        guard let raw = request.query[name], !raw.isEmpty else { return nil }
        let isDay = raw.utf8.count == 10
        guard raw.utf8.count <= 40, let date = Timestamp.parse(isDay ? raw + "T00:00:00.000Z" : raw),
              isDay ? Timestamp.format(date).hasPrefix(raw) : true
        else {
            throw ValidationFailure("Invalid value for parameter: \(name) (a date like 2024-01-31 or a time like 2024-01-31T10:00:00Z)")
        }
        guard end else { return Timestamp.format(date) }
        return Timestamp.format(date.addingTimeInterval(isDay ? 86_400 : 0.001))
    }

    /// One entry as JSON, written by hand around the stored `changes` (already JSON), keys sorted.
    static func json(_ e: AuditEntry) -> String {
        JSONText.object([
            "action": .string(e.action),
            "actorId": .string(e.actorId),
            "actorKind": .string(e.actorKind.rawValue),
            "actorLabel": .string(e.actorLabel),
            "address": .string(e.address),
            "at": .string(e.at),
            "changes": .raw(e.changes),
            "id": .string(e.id),
            "targetId": .string(e.targetId),
            "targetType": .string(e.targetType),
        ])
    }

    static func row(_ e: AuditEntry) -> [String] {
        [
            e.id, e.at, e.actorKind.rawValue, e.actorId ?? "", e.actorLabel ?? "", e.address ?? "", e.action,
            e.targetType ?? "", e.targetId ?? "", e.changes,
        ]
    }
}

extension Principal {
    /// The signed-in user as the actor of a change, from the request's client address.
    func origin(_ request: Request) -> AuditOrigin {
        AuditOrigin(actor: .user(user), address: request.remoteAddress.isEmpty ? nil : request.remoteAddress)
    }

    /// Records a change this user made (see `AuditTrail.record`): call it once the change is stored.
    func audit(
        _ request: Request, _ context: AppContext, _ action: String, _ target: AuditTarget, _ changes: [String: JSONValue] = [:]
    ) throws {
        try AuditTrail.record(context, origin(request), action: action, target: target, changes: changes)
    }

    /// Records a change this user makes in the transaction of `write`, the store call that makes it (see
    /// `AuditTrail.record(..., during:)`); an update that changed nothing (`changes` empty with `skipEmpty`)
    /// is written without an entry.
    func audit<T>(
        _ request: Request, _ context: AppContext, _ action: String, _ target: AuditTarget, _ changes: [String: JSONValue] = [:],
        skipEmpty: Bool = false, during write: () throws -> T
    ) throws -> T {
        if skipEmpty && changes.isEmpty { return try write() }
        return try AuditTrail.record(context, origin(request), action: action, target: target, changes: changes, during: write)
    }
}
