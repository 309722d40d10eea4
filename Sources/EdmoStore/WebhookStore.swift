import Foundation

/// An event of the outbox, written by the store in the transaction of the change that causes it, with one
/// delivery per enabled endpoint of its organisation that takes its type. `payload` is the exact body sent.
public struct OutboxEvent: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var type: String
    /// The conversation, assistant or gap it is about: an endpoint gets the events of one subject in order.
    public var subject: String
    public var payload: String
    public var createdAt: String

    public init(id: String, orgId: String, type: String, subject: String, payload: String, createdAt: String) {
        self.id = id
        self.orgId = orgId
        self.type = type
        self.subject = subject
        self.payload = payload
        self.createdAt = createdAt
    }
}

/// A customer's endpoint. Secrets are sealed with EDMO_SECRET_KEY; stores never open them.
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var url: String
    public var description: String?
    public var eventTypes: [String]
    public var enabled: Bool
    public var secret: [UInt8]
    public var previousSecret: [UInt8]?
    public var previousSecretUntil: String?
    public var createdAt: String
    public var updatedAt: String

    public init(
        id: String, orgId: String, url: String, description: String?, eventTypes: [String], enabled: Bool, secret: [UInt8],
        previousSecret: [UInt8]? = nil, previousSecretUntil: String? = nil, createdAt: String, updatedAt: String
    ) {
        self.id = id
        self.orgId = orgId
        self.url = url
        self.description = description
        self.eventTypes = eventTypes
        self.enabled = enabled
        self.secret = secret
        self.previousSecret = previousSecret
        self.previousSecretUntil = previousSecretUntil
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum DeliveryStatus: String, Sendable, Equatable, CaseIterable {
    case pending, delivered, failed
    /// Its conversation was erased before it was sent: never sent (README "Outbound events").
    case cancelled
}

public struct WebhookDelivery: Sendable, Equatable {
    public var seq: Int
    public var id: String
    public var eventId: String
    public var endpointId: String
    public var orgId: String
    public var eventType: String
    public var subject: String
    public var status: DeliveryStatus
    public var attempts: Int
    public var nextAttemptAt: String
    public var lastError: String?
    public var lastStatus: Int?
    public var responseMs: Int?
    public var deliveredAt: String?
    public var createdAt: String
    public var updatedAt: String

    public init(
        seq: Int, id: String, eventId: String, endpointId: String, orgId: String, eventType: String, subject: String,
        status: DeliveryStatus, attempts: Int, nextAttemptAt: String, lastError: String?, lastStatus: Int?, responseMs: Int?,
        deliveredAt: String?, createdAt: String, updatedAt: String
    ) {
        self.seq = seq; self.id = id; self.eventId = eventId; self.endpointId = endpointId; self.orgId = orgId
        self.eventType = eventType; self.subject = subject; self.status = status; self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt; self.lastError = lastError; self.lastStatus = lastStatus
        self.responseMs = responseMs; self.deliveredAt = deliveredAt; self.createdAt = createdAt; self.updatedAt = updatedAt
    }
}

/// A delivery a worker has claimed (its attempt counted), with what it needs to post it.
public struct ClaimedDelivery: Sendable, Equatable {
    public var delivery: WebhookDelivery
    public var payload: String
    public var url: String
    public var secret: [UInt8]
    public var previousSecret: [UInt8]?
    public var previousSecretUntil: String?

    public init(
        delivery: WebhookDelivery, payload: String, url: String, secret: [UInt8], previousSecret: [UInt8]?,
        previousSecretUntil: String?
    ) {
        self.delivery = delivery; self.payload = payload; self.url = url; self.secret = secret
        self.previousSecret = previousSecret; self.previousSecretUntil = previousSecretUntil
    }
}

/// How an attempt ended.
public enum DeliveryResult: Sendable, Equatable {
    case delivered(status: Int, ms: Int)
    case retry(at: Date, error: String, status: Int?, ms: Int?)
    case failed(error: String, status: Int?, ms: Int?)
}

/// Endpoints, the outbox and its deliveries. Every read and change of endpoints is scoped by organisation.
/// Claims work across hosts: a delivery is claimed by one caller until its lease ends.
public protocol WebhookStore: Sendable {
    /// Oldest first.
    func endpoints(orgId: String, limit: Int, offset: Int) throws -> (items: [WebhookEndpoint], total: Int)
    func endpoint(orgId: String, id: String) throws -> WebhookEndpoint?
    func insertEndpoint(_ endpoint: WebhookEndpoint) throws
    /// Replaces every field but the id, organisation and creation time; `notFound` when it is gone.
    func updateEndpoint(_ endpoint: WebhookEndpoint) throws
    /// With its deliveries.
    func deleteEndpoint(orgId: String, id: String) throws

    /// Newest first.
    func deliveries(orgId: String, endpointId: String, limit: Int, offset: Int) throws -> (items: [WebhookDelivery], total: Int)
    func event(orgId: String, id: String) throws -> OutboxEvent?
    /// "Send again": a delivered, failed or pending delivery becomes pending now with a fresh schedule;
    /// a cancelled one (erased) is a `conflict`.
    func retryDelivery(orgId: String, endpointId: String, id: String, now: Date) throws -> WebhookDelivery

    /// Claims up to `limit` due deliveries of enabled endpoints, each the first pending one of its endpoint
    /// and subject, not leased (or its lease over): counts the attempt and leases it to `owner` until
    /// `leaseUntil`.
    func claimDeliveries(now: Date, leaseUntil: Date, owner: String, limit: Int) throws -> [ClaimedDelivery]
    /// Gives back deliveries `owner` claimed and will not post (its process is stopping), if it still holds
    /// them: claimable again at once, the attempt their claim counted taken back.
    func releaseDeliveries(seqs: [Int], owner: String, now: Date) throws
    /// Records an attempt's end, if `owner` still holds the lease; returns whether it did.
    @discardableResult
    func finishDelivery(seq: Int, owner: String, _ result: DeliveryResult, now: Date) throws -> Bool
    /// Pending deliveries (the metrics and the tests).
    func pendingDeliveries() throws -> Int
    /// Retention: deletes up to `limit` settled deliveries last changed before `cutoff`, then up to `limit`
    /// events older than it that no delivery names, in one short transaction; returns how many rows went.
    func prune(before cutoff: Date, limit: Int) throws -> Int
}

/// The event types there are.
public enum EventType {
    public static let conversationEnded = "conversation.ended"
    public static let knowledgeGapCreated = "knowledge_gap.created"
    public static let callIngested = "call.ingested"
    public static let assistantCreated = "assistant.created"
    public static let assistantUpdated = "assistant.updated"
    public static let assistantDeleted = "assistant.deleted"
    public static let all = [conversationEnded, knowledgeGapCreated, callIngested, assistantCreated, assistantUpdated, assistantDeleted]
}
