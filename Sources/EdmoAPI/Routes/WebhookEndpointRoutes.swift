import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// /api/webhook-endpoints (addition, issue 16): ADMINs register the endpoints their organisation's
/// outbound events go to. The signing secret is answered once, at creation and at each rotation; it is
/// stored sealed with EDMO_SECRET_KEY and never recorded in the audit log.
enum WebhookEndpointRoutes {
    static let defaultGraceSeconds = 86_400

    struct CreateBody: Decodable {
        let url: String
        let eventTypes: [String]
        /// Absent is true; null is a 400.
        let enabled: Patch<Bool>
        /// Absent or null: none.
        let description: Patch<String>
    }

    struct UpdateBody: Decodable {
        let url: Patch<String>
        let eventTypes: Patch<[String]>
        let enabled: Patch<Bool>
        let description: Patch<String>
    }

    struct RotateBody: Decodable { let graceSeconds: Patch<Int> }

    struct EndpointJSON: Encodable {
        let id, url, createdAt, updatedAt: String
        @Nullable var description: String?
        let eventTypes: [String]
        let enabled: Bool
        /// While a rotation's grace period lasts, the previous secret signs too, until then.
        @Nullable var previousSecretExpiresAt: String?
        /// Only in the answers to POST (create, rotate-secret).
        let secret: String?

        init(_ e: WebhookEndpoint, secret: String? = nil, now: Date) {
            id = e.id; url = e.url; createdAt = e.createdAt; updatedAt = e.updatedAt; description = e.description
            eventTypes = e.eventTypes; enabled = e.enabled; self.secret = secret
            let until = e.previousSecretUntil.flatMap(Timestamp.parse)
            previousSecretExpiresAt = e.previousSecret != nil && until.map { $0 > now } == true ? e.previousSecretUntil : nil
        }
    }

    struct DeliveryJSON: Encodable {
        let id, eventId, eventType, status, createdAt, updatedAt: String
        let attempts: Int
        @Nullable var nextAttemptAt: String?
        @Nullable var lastError: String?
        @Nullable var lastStatus: Int?
        @Nullable var responseMs: Int?
        @Nullable var deliveredAt: String?

        init(_ d: WebhookDelivery) {
            id = d.id; eventId = d.eventId; eventType = d.eventType; status = d.status.rawValue; createdAt = d.createdAt
            updatedAt = d.updatedAt; attempts = d.attempts; nextAttemptAt = d.status == .pending ? d.nextAttemptAt : nil
            lastError = d.lastError; lastStatus = d.lastStatus; responseMs = d.responseMs; deliveredAt = d.deliveredAt
        }
    }

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .read, request, context)
        let page = try Validate.page(request)
        let result = try context.webhooks.endpoints(orgId: principal.orgId, limit: page.limit, offset: page.offset)
        var response = try Response.json(result.items.map { EndpointJSON($0, now: context.now) })
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .read, request, context)
        return try Response.json(EndpointJSON(try find(principal.orgId, request.param("id"), context), now: context.now))
    }

    static func create(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let body = try JSON.decode(CreateBody.self, from: request)
        try check(url: body.url, context)
        try check(eventTypes: body.eventTypes)
        let enabled = try body.enabled.required("enabled") ?? true
        var description: String?
        if case .value(let text) = body.description { description = text }
        try Validate.text(description, field: "description", max: 500)
        let secret = newSecret()
        let now = Timestamp.format(context.now)
        let endpoint = WebhookEndpoint(
            id: context.ids.next("whe"), orgId: principal.orgId, url: body.url, description: description,
            eventTypes: normalized(body.eventTypes), enabled: enabled, secret: try context.seal(Array(secret.utf8)),
            createdAt: now, updatedAt: now)
        try context.webhooks.insertEndpoint(endpoint)
        var changes = AuditTrail.changes(from: nil, to: fields(endpoint))
        changes["secret"] = AuditTrail.secretChange(old: nil, new: true)
        try principal.audit(request, context, "webhook_endpoint.create", AuditTarget("webhook_endpoint", endpoint.id), changes)
        return try Response.json(EndpointJSON(endpoint, secret: secret, now: context.now), status: 201)
    }

    static func update(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let body = try JSON.decode(UpdateBody.self, from: request)
        let before = try find(principal.orgId, request.param("id"), context)
        var endpoint = before
        if let url = try body.url.required("url") {
            try check(url: url, context)
            endpoint.url = url
        }
        if let types = try body.eventTypes.required("eventTypes") {
            try check(eventTypes: types)
            endpoint.eventTypes = normalized(types)
        }
        if let enabled = try body.enabled.required("enabled") { endpoint.enabled = enabled }
        switch body.description {
        case .absent: break
        case .null: endpoint.description = nil
        case .value(let text):
            try Validate.text(text, field: "description", max: 500)
            endpoint.description = text
        }
        endpoint.updatedAt = Timestamp.format(context.now)
        try context.webhooks.updateEndpoint(endpoint)
        let changes = AuditTrail.changes(from: fields(before), to: fields(endpoint))
        if !changes.isEmpty {
            try principal.audit(request, context, "webhook_endpoint.update", AuditTarget("webhook_endpoint", endpoint.id), changes)
        }
        return try Response.json(EndpointJSON(endpoint, now: context.now))
    }

    static func delete(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let endpoint = try find(principal.orgId, request.param("id"), context)
        try context.webhooks.deleteEndpoint(orgId: principal.orgId, id: endpoint.id)
        try principal.audit(
            request, context, "webhook_endpoint.delete", AuditTarget("webhook_endpoint", endpoint.id),
            AuditTrail.changes(from: fields(endpoint), to: nil))
        return try Response.json(SuccessJSON())
    }

    /// A new secret, answered once; the previous one goes on signing (a second `v1=`) for `graceSeconds`
    /// (default 24 h, 0 ends it at once), so receivers can switch without losing an event.
    static func rotate(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let body = request.body.isEmpty ? RotateBody(graceSeconds: .absent) : try JSON.decode(RotateBody.self, from: request)
        let grace = try body.graceSeconds.required("graceSeconds") ?? defaultGraceSeconds
        guard (0...604_800).contains(grace) else {
            throw ValidationFailure("Invalid value for field: graceSeconds (0 to 604800)")
        }
        var endpoint = try find(principal.orgId, request.param("id"), context)
        let secret = newSecret()
        endpoint.previousSecret = grace > 0 ? endpoint.secret : nil
        endpoint.previousSecretUntil = grace > 0 ? Timestamp.format(context.now.addingTimeInterval(TimeInterval(grace))) : nil
        endpoint.secret = try context.seal(Array(secret.utf8))
        endpoint.updatedAt = Timestamp.format(context.now)
        try context.webhooks.updateEndpoint(endpoint)
        try principal.audit(
            request, context, "webhook_endpoint.rotate_secret", AuditTarget("webhook_endpoint", endpoint.id),
            ["secret": AuditTrail.secretChange(old: true, new: true), "graceSeconds": .object(["new": .int(grace)])])
        return try Response.json(EndpointJSON(endpoint, secret: secret, now: context.now))
    }

    static func deliveries(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .read, request, context)
        let page = try Validate.page(request)
        let endpoint = try find(principal.orgId, request.param("id"), context)
        let result = try context.webhooks.deliveries(orgId: principal.orgId, endpointId: endpoint.id, limit: page.limit, offset: page.offset)
        var response = try Response.json(result.items.map(DeliveryJSON.init))
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    /// "Send again": the delivery is pending now, with a fresh schedule; the worker posts the event's
    /// stored body (the same event id) with a new signature.
    static func retry(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let endpoint = try find(principal.orgId, request.param("id"), context)
        let delivery = try context.webhooks.retryDelivery(
            orgId: principal.orgId, endpointId: endpoint.id, id: request.param("deliveryId"), now: context.now)
        return try Response.json(DeliveryJSON(delivery), status: 202)
    }

    // MARK: helpers

    static func find(_ orgId: String, _ id: String, _ context: AppContext) throws -> WebhookEndpoint {
        guard let endpoint = try context.webhooks.endpoint(orgId: orgId, id: id) else { throw StoreError.notFound("Webhook endpoint") }
        return endpoint
    }

    /// http(s), and not this host or a private network unless EDMO_ALLOW_PRIVATE_URLS (checked again, after
    /// DNS, at each delivery).
    static func check(url: String, _ context: AppContext) throws {
        try Validate.httpURL(url, field: "url")
        if !context.config.allowPrivateURLs, let host = URL(string: url)?.host, AddressGuard.isPrivateHost(host) {
            throw ValidationFailure("Invalid value for field: url (not this host or a private network)")
        }
    }

    static func check(eventTypes: [String]) throws {
        guard !eventTypes.isEmpty else { throw ValidationFailure("Invalid value for field: eventTypes (at least one)") }
        for type in eventTypes where !EventType.all.contains(type) {
            throw ValidationFailure("Invalid value for field: eventTypes (one of \(EventType.all.joined(separator: ", ")))")
        }
    }

    static func normalized(_ types: [String]) -> [String] { EventType.all.filter(types.contains) }

    static func newSecret() -> String { "whsec_" + Tokens.randomHex(bytes: 32) }

    static func fields(_ e: WebhookEndpoint) -> JSONValue {
        .object([
            "url": .string(e.url), "eventTypes": .array(e.eventTypes.map(JSONValue.string)), "enabled": .bool(e.enabled),
            "description": e.description.map(JSONValue.string) ?? .null,
        ])
    }
}
