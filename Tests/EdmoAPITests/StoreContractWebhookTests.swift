import EdmoCore
import EdmoService
import EdmoStore
import Foundation
import Synchronization
import Testing

/// WebhookStore's contract and the outbox written by the changes, the same assertions on every store.
struct StoreContractWebhookTests {
    func database(_ kind: StoreKind) throws -> ChatContractDatabase {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a"])
        try db.organization("org_b", assistants: ["asst_x"])
        return db
    }

    @discardableResult
    func endpoint(
        _ db: ChatContractDatabase, _ id: String, org: String = "org_a", types: [String] = EventType.all, enabled: Bool = true
    ) throws -> WebhookEndpoint {
        let endpoint = WebhookEndpoint(
            id: id, orgId: org, url: "https://hooks.example.com/\(id)", description: nil, eventTypes: types, enabled: enabled,
            secret: [1, 2, 3], createdAt: chatStamp(0), updatedAt: chatStamp(0))
        try db.stores.webhooks.insertEndpoint(endpoint)
        return endpoint
    }

    func event(_ id: String, type: String, subject: String, org: String = "org_a", second: Int = 1) -> OutboxEvent {
        OutboxEvent(id: id, orgId: org, type: type, subject: subject, payload: #"{"id":"\#(id)"}"#, createdAt: chatStamp(second))
    }

    /// (event id, endpoint id) of every delivery, in the order written.
    func deliveries(_ db: ChatContractDatabase, _ endpoints: [String] = ["whe_a"], org: String = "org_a") throws -> [String] {
        try endpoints.flatMap { endpoint in
            try db.stores.webhooks.deliveries(orgId: org, endpointId: endpoint, limit: 100, offset: 0).items.reversed()
                .map { "\($0.eventId)>\($0.endpointId)" }
        }
    }

    @Test(arguments: StoreKind.tested)
    func eachChangeWritesItsEventWithOneDeliveryPerMatchingEnabledEndpoint(_ kind: StoreKind) throws {
        let db = try database(kind)
        try endpoint(db, "whe_a")
        try endpoint(db, "whe_off", enabled: false)
        try endpoint(db, "whe_calls", types: [EventType.callIngested])
        try endpoint(db, "whe_b", org: "org_b")
        let assistant = DocumentRecord(id: "asst_n", orgId: "org_a", body: "{}", createdAt: chatStamp(1), updatedAt: chatStamp(1))
        try db.stores.resources.insertDocument(
            .assistant, assistant, secret: nil, completing: nil, event: event("evt_1", type: EventType.assistantCreated, subject: "asst_n"))
        try db.chat("chat_1")
        try db.chats.endConversation(id: "chat_1", outcome: chatOutcome(), now: t0.addingTimeInterval(60)) { ended in
            #expect(ended.status == .ended && ended.summary == "A summary")
            return event("evt_2", type: EventType.conversationEnded, subject: ended.id)
        }
        // A gap: its event only when it is new, not for one more occurrence.
        for (n, id) in ["evt_3", "evt_4"].enumerated() {
            _ = try db.chats.recordGap(
                orgId: "org_a", assistantId: "asst_a", question: "Where?", normalized: "where", newId: "gap_\(n)", now: t0,
                event: event(id, type: EventType.knowledgeGapCreated, subject: "chat_1"))
        }
        // A call report: its event only when it changed something.
        #expect(try db.analytics.upsertCall(db.call("call_1", reportedSecond: 5), messages: [], erasedKey: nil,
                                             event: event("evt_5", type: EventType.callIngested, subject: "call_1")))
        #expect(try !db.analytics.upsertCall(db.call("call_1", reportedSecond: 5), messages: [], erasedKey: nil,
                                              event: event("evt_6", type: EventType.callIngested, subject: "call_1")))
        #expect(try deliveries(db) == ["evt_1>whe_a", "evt_2>whe_a", "evt_3>whe_a", "evt_5>whe_a"])
        #expect(try deliveries(db, ["whe_off"]) == [])
        #expect(try deliveries(db, ["whe_calls"]) == ["evt_5>whe_calls"])
        #expect(try deliveries(db, ["whe_b"], org: "org_b") == [])
        #expect(try db.rows("webhook_events") == 4)
        let stored = try #require(try db.stores.webhooks.event(orgId: "org_a", id: "evt_2"))
        #expect(stored == event("evt_2", type: EventType.conversationEnded, subject: "chat_1"))
        #expect(try db.stores.webhooks.event(orgId: "org_b", id: "evt_2") == nil)
    }

    @Test(arguments: StoreKind.tested)
    func aChangeRolledBackWritesNoEvent(_ kind: StoreKind) throws {
        let db = try database(kind)
        try endpoint(db, "whe_a")
        var stale = DocumentRecord(id: "asst_a", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(1))
        stale.version = 7
        #expect(throws: StoreError.stale) {
            try db.stores.resources.updateDocument(
                .assistant, stale, secret: .keep, completing: nil, event: event("evt_1", type: EventType.assistantUpdated, subject: "asst_a"))
        }
        #expect(throws: StoreError.notFound("Assistant")) {
            try db.stores.resources.deleteDocument(
                .assistant, orgId: "org_a", id: "asst_none", version: nil, completing: nil,
                event: event("evt_2", type: EventType.assistantDeleted, subject: "asst_none"))
        }
        // The event is written last: when it cannot be, the conversation is not ended either.
        try db.chat("chat_1")
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try db.chats.endConversation(id: "chat_1", outcome: chatOutcome(), now: t0) { _ in throw Refused() }
        }
        #expect(try db.chats.conversation(orgId: "org_a", id: "chat_1")?.status == .inProgress)
        // A duplicate event id fails the whole change.
        try db.stores.resources.insertDocument(
            .assistant, DocumentRecord(id: "asst_1", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
            secret: nil, completing: nil, event: event("evt_dup", type: EventType.assistantCreated, subject: "asst_1"))
        #expect(throws: (any Error).self) {
            try db.stores.resources.insertDocument(
                .assistant, DocumentRecord(id: "asst_2", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
                secret: nil, completing: nil, event: event("evt_dup", type: EventType.assistantCreated, subject: "asst_2"))
        }
        #expect(try db.stores.resources.document(.assistant, orgId: "org_a", id: "asst_2") == nil)
        #expect(try db.rows("webhook_events") == 1)
        #expect(try deliveries(db) == ["evt_dup>whe_a"])
    }

    @Test(arguments: StoreKind.tested)
    func claimsLeaseAndKeepTheOrderOfEachSubject(_ kind: StoreKind) throws {
        let db = try database(kind)
        let hooks = db.stores.webhooks
        try endpoint(db, "whe_a")
        for (id, subject) in [("evt_1", "chat_1"), ("evt_2", "chat_1"), ("evt_3", "chat_2")] {
            try db.stores.resources.insertDocument(
                .assistant, DocumentRecord(id: "asst_\(id)", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
                secret: nil, completing: nil, event: event(id, type: EventType.assistantCreated, subject: subject))
        }
        let now = t0.addingTimeInterval(10)
        let first = try hooks.claimDeliveries(now: now, leaseUntil: now.addingTimeInterval(30), owner: "host-1", limit: 10)
        #expect(first.map(\.delivery.eventId) == ["evt_1", "evt_3"])
        #expect(first.map(\.delivery.attempts) == [1, 1])
        #expect(first[0].payload == #"{"id":"evt_1"}"# && first[0].url == "https://hooks.example.com/whe_a" && first[0].secret == [1, 2, 3])
        // Leased: nobody else gets them, and evt_2 waits for evt_1.
        #expect(try hooks.claimDeliveries(now: now, leaseUntil: now.addingTimeInterval(30), owner: "host-2", limit: 10).isEmpty)
        // The lease over (its host died): claimed again, the attempt counted.
        let later = now.addingTimeInterval(31)
        let again = try hooks.claimDeliveries(now: later, leaseUntil: later.addingTimeInterval(30), owner: "host-2", limit: 1)
        #expect(again.map(\.delivery.eventId) == ["evt_1"] && again[0].delivery.attempts == 2)
        // The first host's late result is dropped; the holder's is kept.
        #expect(try !hooks.finishDelivery(seq: first[0].delivery.seq, owner: "host-1", .delivered(status: 200, ms: 5), now: later))
        #expect(try hooks.finishDelivery(
            seq: again[0].delivery.seq, owner: "host-2", .retry(at: later.addingTimeInterval(60), error: "the endpoint answered 500", status: 500, ms: 7),
            now: later))
        // Retrying evt_1 still holds evt_2 back.
        let other = try hooks.claimDeliveries(now: later, leaseUntil: later.addingTimeInterval(30), owner: "host-2", limit: 10)
        #expect(other.map(\.delivery.eventId) == ["evt_3"])
        #expect(try hooks.finishDelivery(seq: other[0].delivery.seq, owner: "host-2", .delivered(status: 200, ms: 1), now: later))
        let retryAt = later.addingTimeInterval(60)
        let due = try hooks.claimDeliveries(now: retryAt, leaseUntil: retryAt.addingTimeInterval(30), owner: "host-3", limit: 10)
        #expect(due.map(\.delivery.eventId) == ["evt_1"] && due[0].delivery.lastError == "the endpoint answered 500")
        #expect(try hooks.finishDelivery(seq: due[0].delivery.seq, owner: "host-3", .failed(error: "gave up", status: nil, ms: 3), now: retryAt))
        // Finally failed: the next of its subject goes.
        let next = try hooks.claimDeliveries(now: retryAt, leaseUntil: retryAt.addingTimeInterval(30), owner: "host-3", limit: 10)
        #expect(next.map(\.delivery.eventId) == ["evt_2"])
        #expect(try hooks.finishDelivery(seq: next[0].delivery.seq, owner: "host-3", .delivered(status: 204, ms: 2), now: retryAt))
        let listed = try hooks.deliveries(orgId: "org_a", endpointId: "whe_a", limit: 10, offset: 0)
        #expect(listed.total == 3)
        #expect(listed.items.map(\.status) == [.delivered, .delivered, .failed])  // newest first
        #expect(listed.items[1].deliveredAt == Timestamp.format(retryAt) && listed.items[1].lastStatus == 204)
        #expect(try hooks.deliveries(orgId: "org_b", endpointId: "whe_a", limit: 10, offset: 0).total == 0)
        // Send again: pending at once with a fresh count.
        let resent = try hooks.retryDelivery(orgId: "org_a", endpointId: "whe_a", id: listed.items[2].id, now: retryAt)
        #expect(resent.status == .pending && resent.attempts == 0 && resent.nextAttemptAt == Timestamp.format(retryAt))
        #expect(throws: StoreError.notFound("Delivery")) {
            try hooks.retryDelivery(orgId: "org_b", endpointId: "whe_a", id: listed.items[2].id, now: retryAt)
        }
        // A disabled endpoint's deliveries wait.
        var disabled = try #require(try hooks.endpoint(orgId: "org_a", id: "whe_a"))
        disabled.enabled = false
        try hooks.updateEndpoint(disabled)
        #expect(try hooks.claimDeliveries(now: retryAt, leaseUntil: retryAt.addingTimeInterval(30), owner: "h", limit: 10).isEmpty)
        #expect(try hooks.pendingDeliveries() == 1)
        try hooks.deleteEndpoint(orgId: "org_a", id: "whe_a")
        #expect(try hooks.pendingDeliveries() == 0)
        #expect(throws: StoreError.notFound("Webhook endpoint")) { try hooks.deleteEndpoint(orgId: "org_a", id: "whe_a") }
    }

    /// A stopping process gives back what it claimed and did not post: claimable at once, the attempt taken
    /// back; only by the lease's holder, and never a settled delivery.
    @Test(arguments: StoreKind.tested)
    func claimsGivenBackAreClaimableAtOnceWithTheirAttemptTakenBack(_ kind: StoreKind) throws {
        let db = try database(kind)
        let hooks = db.stores.webhooks
        try endpoint(db, "whe_a")
        for id in ["evt_1", "evt_2", "evt_3"] {
            try db.stores.resources.insertDocument(
                .assistant, DocumentRecord(id: "asst_\(id)", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
                secret: nil, completing: nil, event: event(id, type: EventType.assistantCreated, subject: id))
        }
        let now = t0.addingTimeInterval(10)
        let claimed = try hooks.claimDeliveries(now: now, leaseUntil: now.addingTimeInterval(30), owner: "host-1", limit: 10)
        let seqs = claimed.map(\.delivery.seq)
        #expect(claimed.map(\.delivery.attempts) == [1, 1, 1])
        #expect(try hooks.finishDelivery(seq: seqs[0], owner: "host-1", .delivered(status: 200, ms: 1), now: now))
        try hooks.releaseDeliveries(seqs: seqs, owner: "host-2", now: now)  // not its claims: nothing changes
        #expect(try hooks.claimDeliveries(now: now, leaseUntil: now.addingTimeInterval(30), owner: "host-2", limit: 10).isEmpty)
        try hooks.releaseDeliveries(seqs: seqs, owner: "host-1", now: now)
        let again = try hooks.claimDeliveries(now: now, leaseUntil: now.addingTimeInterval(30), owner: "host-2", limit: 10)
        #expect(again.map(\.delivery.eventId) == ["evt_2", "evt_3"])
        #expect(again.map(\.delivery.attempts) == [1, 1])
        let listed = try hooks.deliveries(orgId: "org_a", endpointId: "whe_a", limit: 10, offset: 0).items
        #expect(listed.map(\.status) == [.pending, .pending, .delivered])  // newest first
        #expect(listed.last?.attempts == 1)
    }

    @Test(arguments: StoreKind.tested)
    func concurrentClaimsTakeEachDeliveryOnce(_ kind: StoreKind) throws {
        let db = try database(kind)
        try endpoint(db, "whe_a")
        for n in 0..<60 {
            try db.stores.resources.insertDocument(
                .assistant, DocumentRecord(id: "asst_\(n)", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
                secret: nil, completing: nil, event: event("evt_\(n)", type: EventType.assistantCreated, subject: "asst_\(n)"))
        }
        let claimed = Mutex<[String]>([])
        let now = t0.addingTimeInterval(10)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            while let batch = try? db.stores.webhooks.claimDeliveries(
                now: now, leaseUntil: now.addingTimeInterval(30), owner: "host-\(worker)", limit: 3), !batch.isEmpty {
                claimed.withLock { $0 += batch.map(\.delivery.id) }
            }
        }
        let ids = claimed.withLock { $0 }
        #expect(ids.count == 60 && Set(ids).count == 60)
    }

    @Test(arguments: StoreKind.tested)
    func erasureCancelsPendingDeliveriesAndBlanksTheirEvents(_ kind: StoreKind) throws {
        let db = try database(kind)
        try endpoint(db, "whe_a")
        #expect(try db.analytics.upsertCall(db.call("call_1", reportedSecond: 1), messages: [], erasedKey: nil,
                                             event: event("evt_1", type: EventType.callIngested, subject: "call_1")))
        _ = try db.analytics.erase(orgId: "org_a", .conversationId("call_1"), erasedKey: { "hash-\($0)" }, now: t0)
        let listed = try db.stores.webhooks.deliveries(orgId: "org_a", endpointId: "whe_a", limit: 10, offset: 0).items
        #expect(listed.map(\.status) == [.cancelled])
        #expect(try db.stores.webhooks.event(orgId: "org_a", id: "evt_1")?.payload == #"{"erased":true}"#)
        #expect(throws: StoreError.self) {
            try db.stores.webhooks.retryDelivery(orgId: "org_a", endpointId: "whe_a", id: listed[0].id, now: t0)
        }
        #expect(try db.stores.webhooks.claimDeliveries(now: t0.addingTimeInterval(9), leaseUntil: t0.addingTimeInterval(99), owner: "h", limit: 9).isEmpty)
    }

    @Test(arguments: StoreKind.tested)
    func noEndpointNoEventAndSettledDeliveriesArePruned(_ kind: StoreKind) throws {
        let db = try database(kind)
        try endpoint(db, "whe_calls", types: [EventType.callIngested])
        // No endpoint takes assistant events: none is kept.
        try db.stores.resources.insertDocument(
            .assistant, DocumentRecord(id: "asst_n", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
            secret: nil, completing: nil, event: event("evt_0", type: EventType.assistantCreated, subject: "asst_n"))
        #expect(try db.rows("webhook_events") == 0)
        for n in 1...3 {
            #expect(try db.analytics.upsertCall(db.call("call_\(n)", reportedSecond: n), messages: [], erasedKey: nil,
                                                 event: event("evt_\(n)", type: EventType.callIngested, subject: "call_\(n)")))
        }
        let now = t0.addingTimeInterval(10)
        let claimed = try db.stores.webhooks.claimDeliveries(now: now, leaseUntil: now.addingTimeInterval(30), owner: "h", limit: 2)
        for c in claimed { try db.stores.webhooks.finishDelivery(seq: c.delivery.seq, owner: "h", .delivered(status: 200, ms: 1), now: now) }
        #expect(try db.stores.webhooks.prune(before: now, limit: 10) == 0)  // settled at `now`, not before
        let later = now.addingTimeInterval(86_400)
        #expect(try db.stores.webhooks.prune(before: later, limit: 1) == 2)  // one delivery, then its event
        #expect(try db.stores.webhooks.prune(before: later, limit: 10) == 2)
        #expect(try db.stores.webhooks.prune(before: later, limit: 10) == 0)
        // The pending one and its event stay.
        #expect(try db.rows("webhook_deliveries") == 1 && db.rows("webhook_events") == 1)
    }

    @Test(arguments: StoreKind.tested)
    func endpointsPageInOrganisationAndSecretsRotate(_ kind: StoreKind) throws {
        let db = try database(kind)
        for n in 0..<3 { try endpoint(db, "whe_\(n)") }
        try endpoint(db, "whe_b", org: "org_b")
        let page = try db.stores.webhooks.endpoints(orgId: "org_a", limit: 2, offset: 1)
        #expect(page.total == 3 && page.items.map(\.id) == ["whe_1", "whe_2"])
        var rotated = try #require(try db.stores.webhooks.endpoint(orgId: "org_a", id: "whe_1"))
        rotated.previousSecret = rotated.secret
        rotated.previousSecretUntil = chatStamp(86_400)
        rotated.secret = [9, 9]
        rotated.description = "rotated"
        try db.stores.webhooks.updateEndpoint(rotated)
        #expect(try db.stores.webhooks.endpoint(orgId: "org_a", id: "whe_1") == rotated)
        #expect(try db.stores.webhooks.endpoint(orgId: "org_b", id: "whe_1") == nil)
        // `edmo rotate-secret-key` walks both secrets.
        #expect(try db.stores.resources.sealedValues(.webhookSecrets, after: nil, through: nil, limit: 10).map(\.id)
            == ["whe_0", "whe_1", "whe_2", "whe_b"])
        #expect(try db.stores.resources.sealedValues(.webhookPreviousSecrets, after: nil, through: nil, limit: 10)
            == [SealedValue(id: "whe_1", sealed: [1, 2, 3])])
        #expect(try db.stores.resources.replaceSealedValues(
            .webhookPreviousSecrets, [SealedChange(id: "whe_1", old: [1, 2, 3], new: [4])]) == ["whe_1"])
        #expect(try db.stores.webhooks.endpoint(orgId: "org_a", id: "whe_1")?.previousSecret == [4])
    }
}

/// `edmo rotate-secret-key` re-seals endpoints' secrets and their previous ones, as it does tools' secrets.
struct WebhookSecretRotationTests {
    @Test(arguments: StoreKind.tested)
    func bothSecretsOfAnEndpointEndUnderTheNewKey(_ kind: StoreKind) throws {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a")
        let old = SecretBox(key: [UInt8](repeating: 1, count: 32)), new = SecretBox(key: [UInt8](repeating: 2, count: 32))
        try db.stores.webhooks.insertEndpoint(WebhookEndpoint(
            id: "whe_1", orgId: "org_a", url: "https://hooks.example.com", description: nil, eventTypes: EventType.all, enabled: true,
            secret: old.seal(Array("whsec_new".utf8)), previousSecret: old.seal(Array("whsec_old".utf8)),
            previousSecretUntil: chatStamp(86_400), createdAt: chatStamp(0), updatedAt: chatStamp(0)))
        let report = try SecretRotation(
            store: db.stores.resources, box: SecretBox(key: [UInt8](repeating: 2, count: 32), previous: [UInt8](repeating: 1, count: 32))
        ).run()
        #expect(report.resealed == 2 && report.complete && report.unreadable.isEmpty)
        let endpoint = try #require(try db.stores.webhooks.endpoint(orgId: "org_a", id: "whe_1"))
        #expect(new.open(endpoint.secret) == Array("whsec_new".utf8))
        #expect(new.open(try #require(endpoint.previousSecret)) == Array("whsec_old".utf8))
        #expect(old.open(endpoint.secret) == nil)
    }
}

/// The retry schedule, with the jitter pinned: doubling from the base, at most 480 times it, 24 h or more
/// over the default 16 attempts whatever the jitter.
struct OutboundEventScheduleTests {
    @Test func delaysDoubleUpToTheCapAndSpanMoreThanADay() {
        let base = 30_000
        #expect(abs(OutboundEvents.retryDelay(afterAttempt: 1, baseMilliseconds: base, jitter: 0.5) - 30) < 1e-6)
        #expect(abs(OutboundEvents.retryDelay(afterAttempt: 2, baseMilliseconds: base, jitter: 0.5) - 60) < 1e-6)
        #expect(abs(OutboundEvents.retryDelay(afterAttempt: 5, baseMilliseconds: base, jitter: 0.5) - 480) < 1e-6)
        #expect(OutboundEvents.retryDelay(afterAttempt: 12, baseMilliseconds: base, jitter: 0.5) == 14_400)
        #expect(OutboundEvents.retryDelay(afterAttempt: 40, baseMilliseconds: base, jitter: 0.5) == 14_400)
        #expect(abs(OutboundEvents.retryDelay(afterAttempt: 1, baseMilliseconds: base, jitter: 0) - 27) < 1e-9)
        #expect(abs(OutboundEvents.retryDelay(afterAttempt: 1, baseMilliseconds: base, jitter: 1) - 33) < 1e-9)
        let least = (1..<16).reduce(0.0) { $0 + OutboundEvents.retryDelay(afterAttempt: $1, baseMilliseconds: base, jitter: 0) }
        let most = (1..<16).reduce(0.0) { $0 + OutboundEvents.retryDelay(afterAttempt: $1, baseMilliseconds: base, jitter: 1) }
        #expect(least >= 86_400 && most <= 32 * 3600)
        #expect(abs(OutboundEvents.retryDelay(afterAttempt: 1, baseMilliseconds: 50, jitter: 0.5) - 0.05) < 1e-6)
    }

    @Test func theSignatureIsTheHMACOfTimeDotBody() {
        let body = Array(#"{"id":"evt_1"}"#.utf8)
        let header = OutboundEvents.signature(body: body, secrets: ["whsec_a", "whsec_b"], at: Date(timeIntervalSince1970: 1_700_000_000))
        let expected = ["whsec_a", "whsec_b"].map { Tokens.hmacSHA256Hex(key: $0, message: Array("1700000000.".utf8) + body) }
        #expect(header == "t=1700000000,v1=\(expected[0]),v1=\(expected[1])")
    }
}
