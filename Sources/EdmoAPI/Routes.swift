import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
/// The one route table: method + path pattern -> handler. Handlers live one file per resource in Routes/
/// (assistants and tools share DocumentRoutes).
///
/// `idempotent: true` marks a POST that creates or changes something as taking `Idempotency-Key` (its answer
/// is kept 24 h for retries). Never on login/logout nor on answers holding a one-time secret (analytics keys,
/// users, webhook endpoint secrets): those must not be stored. `RouterTests` lists every POST's choice.
public enum Routes {
    public static let table: [Route] = [
        Route("POST", "/api/auth/login", AuthRoutes.login),
        Route("GET", "/api/auth/me", AuthRoutes.me),
        Route("POST", "/api/auth/logout", AuthRoutes.logout),

        Route("GET", "/api/users", UserRoutes.list),
        Route("POST", "/api/users", UserRoutes.create),
        Route("GET", "/api/users/{id}", UserRoutes.get),
        Route("PATCH", "/api/users/{id}", UserRoutes.update),
        Route("DELETE", "/api/users/{id}", UserRoutes.delete),
        // Passwords (issue 15): an ADMIN resets another user's, every signed-in user changes their own.
        Route("POST", "/api/users/{id}/reset-password", PasswordRoutes.reset),
        Route("POST", "/api/auth/password", PasswordRoutes.change),

        Route("GET", "/api/assistants", AssistantRoutes.list),
        Route("POST", "/api/assistants", AssistantRoutes.create, idempotent: true),
        Route("GET", "/api/assistants/{id}", AssistantRoutes.get),
        Route("PATCH", "/api/assistants/{id}", AssistantRoutes.update),
        Route("DELETE", "/api/assistants/{id}", AssistantRoutes.delete),

        Route("GET", "/api/assistants/{id}/knowledge", KnowledgeRoutes.list),
        Route("POST", "/api/assistants/{id}/knowledge", KnowledgeRoutes.create, idempotent: true),
        Route("POST", "/api/assistants/{id}/knowledge/import", KnowledgeRoutes.importEntries, idempotent: true),
        Route("GET", "/api/assistants/{id}/knowledge/{entryId}", KnowledgeRoutes.get),
        Route("PATCH", "/api/assistants/{id}/knowledge/{entryId}", KnowledgeRoutes.update),
        Route("DELETE", "/api/assistants/{id}/knowledge/{entryId}", KnowledgeRoutes.delete),
        Route("GET", "/api/knowledge-gaps", GapRoutes.list),
        Route("POST", "/api/knowledge-gaps/{id}/resolve", GapRoutes.resolve, idempotent: true),

        Route("POST", "/api/chat", ChatRoutes.chat, idempotent: true),
        Route("GET", "/api/chat/{chatId}", ChatRoutes.get),
        Route("POST", "/api/chat/{chatId}/end", ChatRoutes.end, idempotent: true),

        Route("GET", "/api/analytics", AnalyticsRoutes.overview),
        Route("GET", "/api/analytics/conversations.csv", ExportRoutes.csv),
        Route("GET", "/api/analytics/conversations", ExportRoutes.list),
        Route("GET", "/api/analytics/timeseries", TimeSeriesRoutes.get),
        Route("GET", "/api/analytics/{conversationId}", AnalyticsRoutes.detail),
        Route("GET", "/api/analytics-keys", AnalyticsKeyRoutes.list),
        Route("POST", "/api/analytics-keys", AnalyticsKeyRoutes.create),
        Route("DELETE", "/api/analytics-keys/{id}", AnalyticsKeyRoutes.revoke),
        Route("POST", "/api/webhooks/provider", WebhookRoutes.provider),
        // Outbound events (issue 16): the organisation's endpoints and their deliveries, ADMINs only.
        Route("GET", "/api/webhook-endpoints", WebhookEndpointRoutes.list),
        Route("POST", "/api/webhook-endpoints", WebhookEndpointRoutes.create),
        Route("GET", "/api/webhook-endpoints/{id}", WebhookEndpointRoutes.get),
        Route("PATCH", "/api/webhook-endpoints/{id}", WebhookEndpointRoutes.update),
        Route("DELETE", "/api/webhook-endpoints/{id}", WebhookEndpointRoutes.delete),
        Route("POST", "/api/webhook-endpoints/{id}/rotate-secret", WebhookEndpointRoutes.rotate),
        Route("GET", "/api/webhook-endpoints/{id}/deliveries", WebhookEndpointRoutes.deliveries),
        Route("POST", "/api/webhook-endpoints/{id}/deliveries/{deliveryId}/retry", WebhookEndpointRoutes.retry, idempotent: true),

        // Read only: the log is written by the changes it records (AuditTrail), never through the API.
        Route("GET", "/api/audit-log", AuditRoutes.list),
        Route("GET", "/api/audit-log.csv", AuditRoutes.csv),
        // Retention and erasure (issue 13).
        Route("GET", "/api/organization/settings", SettingsRoutes.get),
        Route("PATCH", "/api/organization/settings", SettingsRoutes.update),
        Route("POST", "/api/erasures", ErasureRoutes.erase, idempotent: true),

        Route("GET", "/api/tools", ToolRoutes.list),
        Route("POST", "/api/tools", ToolRoutes.create, idempotent: true),
        Route("GET", "/api/tools/{id}", ToolRoutes.get),
        Route("PATCH", "/api/tools/{id}", ToolRoutes.update),
        Route("DELETE", "/api/tools/{id}", ToolRoutes.delete),

        Route("GET", "/api/phone-numbers", PhoneNumberRoutes.list),
        Route("POST", "/api/phone-numbers", PhoneNumberRoutes.create, idempotent: true),
        Route("GET", "/api/phone-numbers/{id}", PhoneNumberRoutes.get),
        Route("PATCH", "/api/phone-numbers/{id}", PhoneNumberRoutes.update),
        Route("DELETE", "/api/phone-numbers/{id}", PhoneNumberRoutes.delete),

        // Operations: readiness for nginx and load balancers; metrics outside /api, for loopback only.
        Route("GET", "/api/health", OperationsRoutes.health),
        Route("GET", "/metrics", OperationsRoutes.metrics),
    ]
}
