import EdmoCore
@testable import EdmoService
import EdmoStore
import Foundation
import Testing

/// The delivery worker with a pinned clock and jitter: the SSRF guard at delivery, the retry schedule, the
/// last attempt marked failed.
struct EventDeliveryTests {
    func app(allowPrivate: Bool, maxAttempts: Int = 16) throws -> (TestApp, WebhookEndpoint) {
        let app = try TestApp { config in
            config.allowPrivateURLs = allowPrivate
            config.eventMaxAttempts = maxAttempts
            config.eventTimeoutMilliseconds = 1000
        }
        let (user, endpoint) = try Self.endpoint(app, url: "http://127.0.0.1:9/hook")
        let record = DocumentRecord(id: "asst_1", orgId: user.orgId, body: "{}", createdAt: Timestamp.format(t0), updatedAt: Timestamp.format(t0))
        try app.context.resources.insertDocument(
            .assistant, record, secret: nil, completing: nil,
            event: try OutboundEvents.assistant(app.context, EventType.assistantCreated, record))
        return (app, endpoint)
    }

    /// An ADMIN, and an endpoint of their organisation for every event type.
    static func endpoint(_ app: TestApp, url: String) throws -> (UserRecord, WebhookEndpoint) {
        let user = try app.addUser("admin@example.edu")
        let endpoint = WebhookEndpoint(
            id: "whe_1", orgId: user.orgId, url: url, description: nil, eventTypes: EventType.all, enabled: true,
            secret: try app.context.seal(Array("whsec_test".utf8)), createdAt: Timestamp.format(t0), updatedAt: Timestamp.format(t0))
        try app.context.webhooks.insertEndpoint(endpoint)
        return (user, endpoint)
    }

    func only(_ app: TestApp, _ endpoint: WebhookEndpoint) throws -> WebhookDelivery {
        try #require(try app.context.webhooks.deliveries(orgId: endpoint.orgId, endpointId: endpoint.id, limit: 10, offset: 0).items.first)
    }

    @Test func aPrivateAddressIsRefusedAtDeliveryAndRetriedOnTheSchedule() throws {
        let (app, endpoint) = try app(allowPrivate: false)
        var worker = EventDelivery(context: app.context, owner: "test")
        worker.random = { 0.5 }
        #expect(worker.runOnce() == 1)
        let delivery = try only(app, endpoint)
        #expect(delivery.status == .pending && delivery.attempts == 1)
        #expect(delivery.lastError == HTTPClientErrorText.privateAddress)
        #expect(delivery.nextAttemptAt == Timestamp.format(t0.addingTimeInterval(30)))
        #expect(worker.runOnce() == 0)  // not due yet
        app.clock.advance(30)
        #expect(worker.runOnce() == 1)
        let second = try only(app, endpoint)
        #expect(second.attempts == 2 && second.nextAttemptAt == Timestamp.format(t0.addingTimeInterval(30 + 60)))
    }

    @Test func theLastAttemptMarksTheDeliveryFailed() throws {
        let (app, endpoint) = try app(allowPrivate: true, maxAttempts: 2)
        var worker = EventDelivery(context: app.context, owner: "test")
        worker.random = { 0.5 }
        #expect(worker.runOnce() == 1)
        #expect(try only(app, endpoint).status == .pending)
        app.clock.advance(30)
        #expect(worker.runOnce() == 1)
        let failed = try only(app, endpoint)
        #expect(failed.status == .failed && failed.attempts == 2 && failed.lastError?.hasPrefix("unreachable") == true)
        app.clock.advance(86_400)
        #expect(worker.runOnce() == 0)
    }
}

/// `edmo serve`'s delivery threads stopping (SIGTERM): what they claimed and did not post is given back.
struct DeliveryStopTests {
    /// Three assistants created with an endpoint for them: three deliveries, claimable at once.
    func app() throws -> (TestApp, WebhookEndpoint) {
        let app = try TestApp()
        // A private address, refused before any connection (EDMO_ALLOW_PRIVATE_URLS is off): no post leaves.
        let (user, endpoint) = try EventDeliveryTests.endpoint(app, url: "http://127.0.0.1:9/hook")
        for n in 1...3 {
            let record = DocumentRecord(
                id: "asst_\(n)", orgId: user.orgId, body: "{}", createdAt: Timestamp.format(t0), updatedAt: Timestamp.format(t0))
            try app.context.resources.insertDocument(
                .assistant, record, secret: nil, completing: nil,
                event: try OutboundEvents.assistant(app.context, EventType.assistantCreated, record))
        }
        return (app, endpoint)
    }

    func deliveries(_ app: TestApp, _ endpoint: WebhookEndpoint) throws -> [WebhookDelivery] {
        try app.context.webhooks.deliveries(orgId: endpoint.orgId, endpointId: endpoint.id, limit: 10, offset: 0).items.reversed()
    }

    @Test func theStopGivesBackWhatWasClaimedAndNotPosted() throws {
        let (app, endpoint) = try app()
        let workers = DeliveryWorkers(context: app.context)
        let claimed = try app.context.webhooks.claimDeliveries(now: t0, leaseUntil: t0.addingTimeInterval(25), owner: "w1", limit: 10)
        let seqs = claimed.map(\.delivery.seq)
        #expect(workers.hold(seqs, owner: "w1"))
        #expect(workers.take(seqs[0], owner: "w1"))  // its post is in hand
        #expect(workers.stop(waiting: 0) == 2)
        #expect(!workers.take(seqs[1], owner: "w1"))  // given back: not posted
        #expect(!workers.hold([99], owner: "w1"))  // stopping: nothing more is held
        let listed = try deliveries(app, endpoint)
        #expect(listed.map(\.attempts) == [1, 0, 0])
        // The given back ones are claimable at once; the one in hand keeps its lease.
        let again = try app.context.webhooks.claimDeliveries(now: t0, leaseUntil: t0.addingTimeInterval(25), owner: "w2", limit: 10)
        #expect(again.map(\.delivery.seq) == Array(seqs[1...]))
    }

    /// Two threads of a process may hold the same delivery (the first one's lease ran out and the second
    /// claimed it): each takes only its own claim.
    @Test func eachThreadTakesOnlyItsOwnClaim() throws {
        let (app, _) = try app()
        let workers = DeliveryWorkers(context: app.context)
        #expect(workers.hold([7], owner: "w1") && workers.hold([7], owner: "w2"))
        #expect(workers.take(7, owner: "w1"))
        #expect(!workers.take(7, owner: "w1"))
        #expect(workers.take(7, owner: "w2"))
    }

    /// A batch's posts share one lease: once it could run out during the next post, the rest of the batch is
    /// given back rather than posted under a lease another thread or host may take.
    @Test func theRestOfABatchIsGivenBackBeforeItsLeaseCouldRunOut() throws {
        let (app, endpoint) = try app()
        var worker = EventDelivery(context: app.context, owner: "w1")
        // Each failed post draws a retry's jitter: here the draw also stands for a slow post, moving the pinned
        // clock on by 15 s. The lease is 25 s (twice the 10 s timeout, plus 5): after one such post, the next
        // could outlast it.
        worker.random = { app.clock.advance(15); return 0.5 }
        #expect(worker.runOnce() == 3)
        let listed = try deliveries(app, endpoint)
        #expect(listed.map(\.attempts) == [1, 0, 0])
        #expect(listed[0].lastError != nil && listed[1...].allSatisfy { $0.lastError == nil })
        let again = try app.context.webhooks.claimDeliveries(
            now: app.context.now, leaseUntil: app.context.now.addingTimeInterval(25), owner: "w2", limit: 10)
        #expect(again.map(\.delivery.id) == listed[1...].map(\.id))
    }

    /// A thread that claims after the stop gives its claim back at once, posting nothing.
    @Test func aClaimAfterTheStopIsGivenBackUnposted() throws {
        let (app, endpoint) = try app()
        let workers = DeliveryWorkers(context: app.context)
        #expect(workers.stop(waiting: 0) == 0)
        var worker = EventDelivery(context: app.context, owner: "w1")
        worker.workers = workers
        #expect(worker.runOnce() == 0)
        let listed = try deliveries(app, endpoint)
        #expect(listed.map(\.attempts) == [0, 0, 0])
        #expect(listed.allSatisfy { $0.status == .pending && $0.lastError == nil })
        #expect(try app.context.webhooks.claimDeliveries(now: t0, leaseUntil: t0.addingTimeInterval(25), owner: "w2", limit: 10).count == 3)
    }
}

/// What HTTPClient says of a refused private address (the delivery's `lastError`).
enum HTTPClientErrorText {
    static let privateAddress = "refused: the address is on this host or a private network (EDMO_ALLOW_PRIVATE_URLS allows it)"
}
