/// The stores one deployment runs on, chosen at start-up by the `edmo` command (SQLite or PostgreSQL).
public struct Stores: Sendable {
    public var accounts: any AccountStore
    public var resources: any ResourceStore
    public var chats: any ChatStore
    public var analytics: any AnalyticsStore
    /// Who changed what (see `AuditTrail` in EdmoService).
    public var audit: any AuditStore
    /// Outbound events: endpoints, the outbox and its deliveries.
    public var webhooks: any WebhookStore
    /// Idempotency-Key rows: stored responses for retries (issue 16).
    public var idempotency: any IdempotencyStore
    /// The database's own check (`GET /api/health`, the metrics' queue depths). Nil only for stores a test
    /// assembles by hand; `/api/health` then answers 503.
    public var health: (any StoreHealth)?

    public init(
        accounts: any AccountStore, resources: any ResourceStore, chats: any ChatStore, analytics: any AnalyticsStore,
        audit: any AuditStore, webhooks: any WebhookStore, idempotency: any IdempotencyStore,
        health: (any StoreHealth)? = nil
    ) {
        self.accounts = accounts
        self.resources = resources
        self.chats = chats
        self.analytics = analytics
        self.audit = audit
        self.webhooks = webhooks
        self.idempotency = idempotency
        self.health = health
    }
}
