import EdmoCore
import EdmoService
import EdmoStore
@testable import EdmoAPI
import Foundation
import Testing

/// Idempotency-Key in the router, in-process on SQLite with a pinned clock (the store's behaviour on both
/// stores is in StoreContractIdempotencyTests; through nginx, crash included, in tests/e2e/test_idempotency.py).
@Suite struct IdempotencyTests {
    /// Every POST of the table, with its choice. A new POST fails here until it is classified: keyed, or not
    /// (why: its answer holds a one-time secret, it signs in or out, or it is the provider's own callback).
    static let notKeyed: Set<String> = [
        "POST /api/auth/login", "POST /api/auth/logout",
        "POST /api/users",  // its answer may carry a password the server generated
        "POST /api/users/{id}/reset-password",  // its answer is a generated password
        "POST /api/auth/password",  // a password check, like login
        "POST /api/analytics-keys",  // the key is shown once
        "POST /api/webhooks/provider",  // the voice platform's reports, idempotent by call id already
        "POST /api/webhook-endpoints", "POST /api/webhook-endpoints/{id}/rotate-secret",  // the signing secret is shown once
    ]

    @Test func everyPostIsClassified() {
        for route in Routes.table where route.method == "POST" {
            let name = "\(route.label.method) \(route.label.route)"
            #expect(route.idempotent != Self.notKeyed.contains(name), "\(name): mark it idempotent or list it in notKeyed")
        }
        #expect(Routes.table.filter { $0.idempotent }.allSatisfy { $0.method == "POST" })
    }

    static let tool = #"{"type":"function","function":{"name":"lookup","description":"Finds a record.","parameters":{"type":"object","properties":{}}}}"#

    @Test func replayMismatchScopeAndExpiry() throws {
        let app = try TestApp()
        _ = try app.addUser("a@x.edu")
        _ = try app.addUser("b@x.edu")
        let a = try app.login("a@x.edu"), b = try app.login("b@x.edu")
        let first = app.send("POST", "/api/tools", json: Self.tool, token: a, headers: ["idempotency-key": "k1"])
        #expect(first.status == 201)
        #expect(first.header("Idempotent-Replayed") == nil)
        let again = app.send("POST", "/api/tools", json: Self.tool, token: a, headers: ["idempotency-key": "k1"])
        #expect(again.status == 201)
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(again.body == first.body)
        #expect(again.header("ETag") == first.header("ETag"))
        #expect(again.header("X-Request-Id") != nil)

        let other = app.send("POST", "/api/tools", json: Self.tool.replacingOccurrences(of: "lookup", with: "find"), token: a, headers: ["idempotency-key": "k1"])
        #expect(other.status == 422)

        let theirs = app.send("POST", "/api/tools", json: Self.tool, token: b, headers: ["idempotency-key": "k1"])
        #expect(theirs.status == 201 && theirs.header("Idempotent-Replayed") == nil && theirs.body != first.body)

        app.clock.advance(Idempotency.retention)
        let a2 = try app.login("a@x.edu")  // the old session idled out meanwhile; the caller is the same user
        let later = app.send("POST", "/api/tools", json: Self.tool, token: a2, headers: ["idempotency-key": "k1"])
        #expect(later.status == 201 && later.header("Idempotent-Replayed") == nil && later.body != first.body)
        #expect(app.send("GET", "/api/tools", token: a2).jsonArray.count == 3)
    }

    @Test func refusedKeysAndRoutes() throws {
        let app = try TestApp()
        _ = try app.addUser("a@x.edu")
        let a = try app.login("a@x.edu")
        for bad in ["", String(repeating: "k", count: 256), "t\u{7F}", "é", "a b"] {
            let r = app.send("POST", "/api/tools", json: Self.tool, token: a, headers: ["idempotency-key": bad])
            #expect(r.status == 400, "\(bad)")
        }
        let secret = app.send("POST", "/api/analytics-keys", json: #"{"name":"r"}"#, token: a, headers: ["idempotency-key": "k"])
        #expect(secret.status == 400)
        #expect(secret.error == "Idempotency-Key is not supported on POST /api/analytics-keys")
        #expect(app.send("GET", "/api/tools", token: a, headers: ["idempotency-key": "k"]).status == 200)
        // Not signed in: the handler's own 401, and nothing is claimed.
        #expect(app.send("POST", "/api/tools", json: Self.tool, headers: ["idempotency-key": "k"]).status == 401)
        #expect(app.send("POST", "/api/tools", json: Self.tool, token: a, headers: ["idempotency-key": "k"]).status == 201)
    }

    @Test func aConflictIsNotKeptSoARetryRunsAgain() throws {
        let app = try TestApp()
        _ = try app.addUser("a@x.edu")
        let a = try app.login("a@x.edu")
        // A 404 is kept; a 409 would be released (see Idempotency.run), which the store tests cover.
        let missing = app.send("POST", "/api/knowledge-gaps/gap_nope/resolve", json: #"{"action":"dismiss"}"#, token: a, headers: ["idempotency-key": "g"])
        #expect(missing.status == 404 || missing.status == 400)
        let replayed = app.send("POST", "/api/knowledge-gaps/gap_nope/resolve", json: #"{"action":"dismiss"}"#, token: a, headers: ["idempotency-key": "g"])
        #expect(replayed.status == missing.status && replayed.header("Idempotent-Replayed") == "true")
    }
}
