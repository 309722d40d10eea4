import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// /api/organization/settings (addition): the caller's organisation's settings. Any signed-in user reads
/// them; ADMINs change them. `retentionDays`: null = the deployment's default (`EDMO_RETENTION_DAYS`),
/// 0 = keep conversations forever, 1-36500 = remove them that many days after they started.
enum SettingsRoutes {
    struct SettingsJSON: Encodable {
        /// As stored: null means the default.
        @Nullable var retentionDays: Int?
        /// What the sweep applies: null means forever.
        @Nullable var effectiveRetentionDays: Int?
        /// `EDMO_RETENTION_DAYS`; null: forever.
        @Nullable var defaultRetentionDays: Int?

        init(_ settings: OrganizationSettings, _ config: Config) {
            retentionDays = settings.retentionDays
            effectiveRetentionDays = Retention.effectiveDays(settings, config)
            defaultRetentionDays = config.retentionDays
        }
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.authenticate(request, context)
        guard let settings = try context.accounts.settings(orgId: principal.orgId) else { throw APIError.notFound("Organization") }
        return try Response.json(SettingsJSON(settings, context.config))
    }

    static func update(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let fields = try StrictBody.object(request, allowed: ["retentionDays"])
        let days: Int?
        switch fields["retentionDays"] {
        case nil: throw APIError.badRequest("Nothing to update: give retentionDays")
        case .null?: days = nil
        case .int(let value)?: days = value
        default: throw ValidationFailure("Invalid value for field: retentionDays (an integer, or null)")
        }
        let settings = try Retention.validate(days)
        let old = try context.accounts.updateSettings(orgId: principal.orgId, settings)
        func json(_ settings: OrganizationSettings) -> JSONValue { .object(["retentionDays": settings.retentionDays.map { .int($0) } ?? .null]) }
        let changes = AuditTrail.changes(from: json(old), to: json(settings))
        if !changes.isEmpty { try principal.audit(request, context, "settings.update", AuditTarget("organization", principal.orgId), changes) }
        return try Response.json(SettingsJSON(settings, context.config))
    }
}

/// Bodies whose every field is known: a misspelt field is a 400 rather than silently ignored, since
/// these requests change retention or erase data.
enum StrictBody {
    static func object(_ request: Request, allowed: Set<String>) throws -> [String: JSONValue] {
        guard !request.body.isEmpty else { throw APIError.badRequest("Request body is required") }
        guard case .object(let fields) = try JSONValue.parse(request.body) else {
            throw APIError.badRequest("The request body must be a JSON object")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ValidationFailure("Unknown field: \(unknown) (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        return fields
    }
}
