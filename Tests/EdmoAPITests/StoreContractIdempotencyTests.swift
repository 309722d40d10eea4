import EdmoCore
import EdmoStore
import Foundation
import Testing

/// IdempotencyStore (Idempotency-Key rows), the same assertions on every store: claim, replay, mismatch,
/// in progress and interrupted, release, scoping, expiry and purge, and racing claims.
struct StoreContractIdempotencyTests {
    static let scope = IdempotencyScope(caller: "user:u1", route: "POST /api/assistants", key: "k-1")
    static let answer = StoredResponse(
        status: 201, headers: [["Content-Type", "application/json"], ["ETag", "\"v1\""]], body: Array(#"{"id":"a1"}"#.utf8))

    func claim(
        _ db: ContractDatabase, _ scope: IdempotencyScope = scope, fingerprint: String = "f1", owner: String = "o1",
        at second: TimeInterval = 0, lease: TimeInterval = 60
    ) throws -> IdempotencyClaim {
        let now = t0.addingTimeInterval(second)
        return try db.idempotency.claim(
            scope, fingerprint: fingerprint, owner: owner, now: now, leaseUntil: now.addingTimeInterval(lease),
            expiresAt: now.addingTimeInterval(86_400))
    }

    @Test(arguments: StoreKind.tested)
    func aCompletedKeyIsReplayedAndAnotherBodyIsAMismatch(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        #expect(try claim(db) == .claimed)
        #expect(try claim(db, owner: "o2", at: 1) == .inProgress)
        #expect(try claim(db, fingerprint: "f2", owner: "o2", at: 1) == .mismatch)
        // Only the owner stores the answer.
        #expect(try db.idempotency.complete(Self.scope, owner: "o2", response: Self.answer) == false)
        #expect(try db.idempotency.complete(Self.scope, owner: "o1", response: Self.answer))
        #expect(try claim(db, owner: "o3", at: 2) == .replay(Self.answer))
        #expect(try claim(db, owner: "o3", at: 3, lease: 0) == .replay(Self.answer))
        #expect(try claim(db, fingerprint: "f2", owner: "o3", at: 3) == .mismatch)
        // Stored once: a second completion changes nothing.
        #expect(try db.idempotency.complete(Self.scope, owner: "o1", response: StoredResponse(status: 500, headers: [], body: [])) == false)
        #expect(try claim(db, owner: "o4", at: 4) == .replay(Self.answer))
        // Binary bodies and empty header lists survive.
        let bytes = StoredResponse(status: 400, headers: [], body: [0, 255, 10, 13])
        let other = IdempotencyScope(caller: "user:u1", route: "POST /api/tools", key: "k-1")
        #expect(try claim(db, other) == .claimed)
        #expect(try db.idempotency.complete(other, owner: "o1", response: bytes))
        #expect(try claim(db, other, owner: "o2") == .replay(bytes))
    }

    @Test(arguments: StoreKind.tested)
    func keysAreScopedToTheCallerAndTheRoute(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        #expect(try claim(db) == .claimed)
        for scope in [
            IdempotencyScope(caller: "user:u2", route: Self.scope.route, key: Self.scope.key),
            IdempotencyScope(caller: Self.scope.caller, route: "POST /api/tools", key: Self.scope.key),
            IdempotencyScope(caller: Self.scope.caller, route: Self.scope.route, key: "k-2"),
        ] {
            #expect(try claim(db, scope, fingerprint: "other", owner: "o2") == .claimed)
        }
        #expect(try db.rows(in: "idempotency_keys") == 4)
    }

    @Test(arguments: StoreKind.tested)
    func aClaimWhoseLeaseRanOutIsInterruptedAndAReleasedOneIsFree(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        #expect(try claim(db, lease: 30) == .claimed)
        #expect(try claim(db, owner: "o2", at: 29.999) == .inProgress)
        #expect(try claim(db, owner: "o2", at: 30) == .interrupted)
        #expect(try claim(db, owner: "o2", at: 3_600) == .interrupted)
        // A late owner may still store its answer; then retries get it.
        #expect(try db.idempotency.complete(Self.scope, owner: "o1", response: Self.answer))
        #expect(try claim(db, owner: "o2", at: 3_601) == .replay(Self.answer))

        let free = IdempotencyScope(caller: "user:u1", route: "POST /api/chat", key: "k-9")
        #expect(try claim(db, free) == .claimed)
        try db.idempotency.release(free, owner: "someone-else")
        #expect(try claim(db, free, owner: "o2", at: 1) == .inProgress)
        try db.idempotency.release(free, owner: "o1")
        #expect(try claim(db, free, fingerprint: "f2", owner: "o2", at: 2) == .claimed)
        // A stored answer is never released.
        #expect(try db.idempotency.complete(free, owner: "o2", response: Self.answer))
        try db.idempotency.release(free, owner: "o2")
        #expect(try claim(db, free, fingerprint: "f2", owner: "o3", at: 3) == .replay(Self.answer))
    }

    @Test(arguments: StoreKind.tested)
    func anExpiredKeyIsFreeAgainAndPurged(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        #expect(try claim(db) == .claimed)
        #expect(try db.idempotency.complete(Self.scope, owner: "o1", response: Self.answer))
        let other = IdempotencyScope(caller: "user:u2", route: "POST /api/tools", key: "k")
        #expect(try claim(db, other) == .claimed)
        #expect(try db.idempotency.purgeExpired(now: t0.addingTimeInterval(86_399.999), limit: 100) == 0)
        // At 24 h the key is free, even with another body, whether or not the purge ran.
        #expect(try claim(db, fingerprint: "f2", owner: "o2", at: 86_400) == .claimed)
        #expect(try db.rows(in: "idempotency_keys") == 2)
        // The purge removes what expired (the retaken key expires a day later), in batches.
        #expect(try db.idempotency.purgeExpired(now: t0.addingTimeInterval(86_400), limit: 100) == 1)
        #expect(try db.rows(in: "idempotency_keys") == 1)
        #expect(try claim(db, owner: "o3", at: 86_401) == .mismatch)
    }

    @Test(arguments: StoreKind.tested)
    func anErasedChatsAnswersAreForgotten(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        let chat = IdempotencyScope(caller: "user:u1", route: "POST /api/chat", key: "k")
        let other = IdempotencyScope(caller: "user:u1", route: "POST /api/chat", key: "k2")
        #expect(try claim(db, chat) == .claimed)
        #expect(try claim(db, other) == .claimed)
        #expect(try db.idempotency.complete(chat, owner: "o1", response: StoredResponse(status: 200, headers: [], body: Array(#"{"chatId":"chat_abc1"}"#.utf8))))
        #expect(try db.idempotency.complete(other, owner: "o1", response: StoredResponse(status: 200, headers: [], body: Array(#"{"chatId":"chat_xyz2"}"#.utf8))))
        #expect(try db.idempotency.forgetAnswers(containing: "chat_abc1") == 1)
        #expect(try claim(db, chat, owner: "o2", at: 1) == .claimed)
        #expect(try claim(db, other, owner: "o2", at: 1) != .claimed)
    }

    /// Racing retries on several threads (connections, on PostgreSQL): exactly one claims the key.
    @Test(arguments: StoreKind.tested)
    func exactlyOneOfRacingClaimsWins(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        let outcomes = Outcomes()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            outcomes.record {
                let result = try claim(db, owner: "o\(i)")
                if result != .claimed { throw StoreError.conflict("\(result)") }
            }
        }
        #expect(outcomes.all == ["ok": 1, "inProgress": 7])
    }
}
