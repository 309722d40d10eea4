import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// /api/analytics-keys (addition): ADMINs make API keys that read their own organisation's analytics.
/// A key is shown once, at creation; only its SHA-256 is stored. DELETE revokes it (403 from then on).
enum AnalyticsKeyRoutes {
    struct CreateBody: Decodable { let name: String? }

    struct KeyJSON: Encodable {
        let id, prefix, createdAt: String
        let name, revokedAt: String?
        /// Only in the answer to POST.
        let key: String?
        init(_ k: AnalyticsKey, key: String? = nil) {
            id = k.id; prefix = k.prefix; createdAt = k.createdAt; name = k.name; revokedAt = k.revokedAt; self.key = key
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id); try c.encode(name, forKey: .name); try c.encode(prefix, forKey: .prefix)
            try c.encode(createdAt, forKey: .createdAt); try c.encode(revokedAt, forKey: .revokedAt)
            try c.encodeIfPresent(key, forKey: .key)
        }
        enum CodingKeys: String, CodingKey { case id, name, prefix, createdAt, revokedAt, key }
    }

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .read, request, context)
        return try Response.json(try context.analytics.keys(orgId: principal.orgId).map { KeyJSON($0) })
    }

    static func create(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let body = request.body.isEmpty ? CreateBody(name: nil) : try JSON.decode(CreateBody.self, from: request)
        try Validate.text(body.name, field: "name", max: 200)
        let secret = "edmo_ak_" + Tokens.randomHex(bytes: 24)
        let key = AnalyticsKey(
            id: context.ids.next("ak"), orgId: principal.orgId, name: body.name, prefix: String(secret.prefix(12)),
            createdAt: Timestamp.format(context.now), revokedAt: nil)
        try context.analytics.createKey(key, hash: Tokens.sha256Hex(secret))
        // The key itself is never recorded: its name and the prefix the key list shows.
        try principal.audit(
            request, context, "analytics_key.create", AuditTarget("analytics_key", key.id),
            AuditTrail.changes(from: nil, to: .object(["name": key.name.map(JSONValue.string) ?? .null, "prefix": .string(key.prefix)])))
        return try Response.json(KeyJSON(key, key: secret), status: 201)
    }

    static func revoke(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let id = request.param("id")
        // Revoking a revoked key again changes nothing, so it is not recorded.
        let wasActive = try context.analytics.keys(orgId: principal.orgId).contains { $0.id == id && $0.revokedAt == nil }
        try context.analytics.revokeKey(orgId: principal.orgId, id: id, now: context.now)
        if wasActive {
            try principal.audit(
                request, context, "analytics_key.revoke", AuditTarget("analytics_key", id),
                ["revokedAt": .object(["old": .null, "new": .string(Timestamp.format(context.now))])])
        }
        return try Response.json(SuccessJSON())
    }
}
