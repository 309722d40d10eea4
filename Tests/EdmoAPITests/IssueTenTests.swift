import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoSQLite
import EdmoAPI
import Foundation
import GRDB
import Synchronization
import Testing

/// Lost updates, optimistic concurrency, a full disk, and the security review's login, routing, CSRF and
/// tool-secret findings.
@Suite struct VersioningTests {
    @Test func concurrentPatchesOfDifferentKeysAllSurvive() throws {
        let r = try Roles()
        let id = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor).json["id"] as? String)
        let statuses = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            let response = r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"metadata":{"k\#(i)":\#(i)}}"#, token: r.editor)
            statuses.withLock { $0.append(response.status) }
        }
        #expect(statuses.withLock { $0 } == Array(repeating: 200, count: 40))
        let got = r.app.send("GET", "/api/assistants/\(id)", token: r.editor)
        let metadata = try #require(got.json["metadata"] as? [String: Any])
        #expect(Set(metadata.keys).isSuperset(of: (0..<40).map { "k\($0)" }))
        #expect(got.header("ETag") == "\"41\"")
    }

    @Test func ifMatchMakesPatchAndDeleteConditional() throws {
        let r = try Roles()
        let created = r.app.send("POST", "/api/assistants/", json: assistantBody, token: r.editor)
        #expect(created.status == 404)  // a trailing slash names no endpoint
        let made = r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor)
        #expect(made.header("ETag") == "\"1\"")
        let id = try #require(made.json["id"] as? String)
        let first = r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"name":"One"}"#, token: r.editor, headers: ["if-match": "\"1\""])
        #expect(first.status == 200 && first.header("ETag") == "\"2\"")
        let stale = r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"name":"Two"}"#, token: r.editor, headers: ["if-match": "\"1\""])
        #expect(stale.status == 412)
        #expect(r.app.send("GET", "/api/assistants/\(id)", token: r.editor).json["name"] as? String == "One")
        // A weak tag (nginx's gzip weakens it) and `*` name the current version too.
        #expect(r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"name":"Three"}"#, token: r.editor, headers: ["if-match": "W/\"2\""]).status == 200)
        #expect(r.app.send("DELETE", "/api/assistants/\(id)", token: r.editor, headers: ["if-match": "\"2\""]).status == 412)
        #expect(r.app.send("DELETE", "/api/assistants/\(id)", token: r.editor, headers: ["if-match": "*"]).status == 200)
    }

    @Test func knowledgeUsersAndPhoneNumbersCarryETags() throws {
        let r = try Roles()
        let assistant = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor).json["id"] as? String)
        let entry = r.app.send("POST", "/api/assistants/\(assistant)/knowledge", json: #"{"title":"T","content":"C"}"#, token: r.editor)
        let entryPath = "/api/assistants/\(assistant)/knowledge/\(try #require(entry.json["id"] as? String))"
        #expect(entry.header("ETag") == "\"1\"")
        #expect(r.app.send("PATCH", entryPath, json: #"{"title":"U"}"#, token: r.editor, headers: ["if-match": "\"1\""]).header("ETag") == "\"2\"")
        #expect(r.app.send("PATCH", entryPath, json: #"{"title":"V"}"#, token: r.editor, headers: ["if-match": "\"1\""]).status == 412)
        #expect(r.app.send("DELETE", entryPath, token: r.editor, headers: ["if-match": "\"1\""]).status == 412)
        #expect(r.app.send("GET", entryPath, token: r.editor).json["title"] as? String == "U")

        let viewer = try #require(try r.app.context.accounts.user(email: "viewer@example.edu"))
        let userPath = "/api/users/\(viewer.id)"
        #expect(r.app.send("GET", userPath, token: r.admin).header("ETag") == "\"1\"")
        #expect(r.app.send("PATCH", userPath, json: #"{"name":"V"}"#, token: r.admin, headers: ["if-match": "\"1\""]).header("ETag") == "\"2\"")
        #expect(r.app.send("PATCH", userPath, json: #"{"name":"W"}"#, token: r.admin, headers: ["if-match": "\"1\""]).status == 412)
        #expect(r.app.send("DELETE", userPath, token: r.admin, headers: ["if-match": "\"1\""]).status == 412)

        let number = r.app.send("POST", "/api/phone-numbers", json: #"{"provider":"twilio","twilioPhoneNumber":"+17865550123","twilioAccountSid":"AC\#(String(repeating: "0", count: 32))","twilioAuthToken":"tok"}"#, token: r.editor)
        let numberPath = "/api/phone-numbers/\(try #require(number.json["id"] as? String))"
        #expect(number.header("ETag") == "\"1\"")
        #expect(r.app.send("PATCH", numberPath, json: #"{"name":"Desk"}"#, token: r.editor).header("ETag") == "\"2\"")
        #expect(r.app.send("PATCH", numberPath, json: #"{"name":"Other"}"#, token: r.editor, headers: ["if-match": "\"1\""]).status == 412)
        #expect(r.app.send("DELETE", numberPath, token: r.editor, headers: ["if-match": "\"2\""]).status == 200)
    }

    @Test func deletingAnAssistantRaisesTheVersionOfTheNumbersItLeaves() throws {
        let r = try Roles()
        let assistant = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor).json["id"] as? String)
        let number = r.app.send("POST", "/api/phone-numbers", json: #"{"provider":"twilio","assistantId":"\#(assistant)","twilioPhoneNumber":"+17865550124","twilioAccountSid":"AC\#(String(repeating: "0", count: 32))","twilioAuthToken":"tok"}"#, token: r.editor)
        let path = "/api/phone-numbers/\(try #require(number.json["id"] as? String))"
        #expect(number.header("ETag") == "\"1\"")
        #expect(r.app.send("DELETE", "/api/assistants/\(assistant)", token: r.editor).status == 200)
        let after = r.app.send("GET", path, token: r.editor)
        #expect(after.json["assistantId"] is NSNull)
        #expect(after.header("ETag") == "\"2\"")
        // A PATCH that read the attached number no longer applies to it.
        #expect(r.app.send("PATCH", path, json: #"{"name":"Desk"}"#, token: r.editor, headers: ["if-match": "\"1\""]).status == 412)
    }

    @Test func aFullDiskIs507AndWritesRecoverOnceSpaceIsFreed() throws {
        let r = try Roles()
        // SQLite's page cap stands in for the disk: past it, SQLite fails exactly as on a full disk.
        let pages = try r.app.database.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! }
        try r.app.database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages)") }
        var full: Response?
        for _ in 0..<50 {
            let response = r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor)
            if response.status != 201 { full = response; break }
        }
        let response = try #require(full)
        #expect(response.status == 507)
        #expect(response.error?.contains("Storage is full") == true)
        #expect(r.app.send("GET", "/api/assistants", token: r.viewer).status == 200)  // reads go on
        #expect(r.app.logLines.all.filter { $0.contains("storage is full") }.count == 1)
        _ = r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor)
        #expect(r.app.logLines.all.filter { $0.contains("storage is full") }.count == 1)  // logged once
        try r.app.database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        #expect(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor).status == 201)
    }
}

@Suite struct LoginAbuseTests {
    @Test func longOrMalformedEmailsAre400AndStoreNothing() throws {
        let app = try TestApp()
        let huge = String(repeating: "a", count: 500_000) + "@example.edu"
        for email in [huge, "not-an-email", "a@b@c"] {
            #expect(app.send("POST", "/api/auth/login", json: #"{"email":"\#(email)","password":"wrong-password"}"#).status == 400)
        }
        let rows = try app.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM login_failures")! }
        #expect(rows == 0)
        // Counters are keyed on hashes: no email or address is stored.
        _ = app.send("POST", "/api/auth/login", json: #"{"email":"who@example.edu","password":"wrong-password"}"#)
        let keys = try app.database.pool.read { db in try String.fetchAll(db, sql: "SELECT key FROM login_failures") }
        #expect(!keys.isEmpty && keys.allSatisfy { $0.count == 64 && !$0.contains("who") })
        // Expired counters are purged by the next failure.
        app.clock.advance(3600)
        _ = app.send("POST", "/api/auth/login", json: #"{"email":"else@example.edu","password":"wrong-password"}"#, address: "10.9.9.9")
        let left = try app.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM login_failures")! }
        #expect(left == 3)  // the new pair, address and account; the old ones are gone
    }

    @Test func aStrangerCannotLockTheOwnerOut() throws {
        let app = try TestApp { $0.loginAccountMaxFailures = 10 }
        try app.addUser("admin@example.edu")
        let wrong = #"{"email":"admin@example.edu","password":"wrong-password"}"#
        let right = #"{"email":"admin@example.edu","password":"password-123"}"#
        // The owner has logged in from 10.0.0.1 before.
        #expect(app.send("POST", "/api/auth/login", json: right, address: "10.0.0.1").status == 200)
        // A stranger guesses from ever new addresses (each under its own limit). Past the account's
        // threshold a new address waits; each failure after a wait doubles the next one.
        var waits: [Int] = []
        for i in 0..<30 {
            let response = app.send("POST", "/api/auth/login", json: wrong, address: "198.51.100.\(i)")
            if response.status == 429 {
                let retry = Int(response.header("Retry-After") ?? "0") ?? 0
                waits.append(retry)
                app.clock.advance(TimeInterval(retry))
            } else {
                #expect(response.status == 401)
            }
        }
        #expect(waits.count >= 5)
        #expect(waits.prefix(5) == [1, 2, 4, 8, 16])
        // The owner's known address is not slowed, and the right password works.
        #expect(app.send("POST", "/api/auth/login", json: right, address: "10.0.0.1").status == 200)
        // The pair lock: five wrong passwords from one address lock that address for this account only.
        for _ in 0..<5 { _ = app.send("POST", "/api/auth/login", json: wrong, address: "10.0.0.2") }
        #expect(app.send("POST", "/api/auth/login", json: right, address: "10.0.0.2").status == 429)
        #expect(app.send("POST", "/api/auth/login", json: right, address: "10.0.0.1").status == 200)
    }

    @Test func anIPv6NetworkIsThrottledAsOne() throws {
        let app = try TestApp { $0.loginNetworkMaxFailures = 6 }
        for i in 1...6 {
            let response = app.send("POST", "/api/auth/login", json: #"{"email":"u\#(i)@example.edu","password":"wrong-password"}"#, address: "2001:db8:1:2::\(i)")
            #expect(response.status == 401)
        }
        let sameNetwork = app.send("POST", "/api/auth/login", json: #"{"email":"x@example.edu","password":"wrong-password"}"#, address: "2001:db8:1:2:ffff::9")
        #expect(sameNetwork.status == 429)
        let otherNetwork = app.send("POST", "/api/auth/login", json: #"{"email":"x@example.edu","password":"wrong-password"}"#, address: "2001:db8:1:3::1")
        #expect(otherNetwork.status == 401)
    }
}

@Suite struct RequestHardeningTests {
    @Test func oddSpellingsOfAPathAre404() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let body = #"{"email":"admin@example.edu","password":"password-123"}"#
        for path in ["/api/auth/login/", "/api//auth/login", "/api/auth//login", "//api/auth/login"] {
            #expect(app.send("POST", path, json: body).status == 404, "\(path)")
        }
        let encoded = Request.fromCGI(
            params: ["REQUEST_METHOD": "POST", "REQUEST_URI": "/api/auth%2Flogin", "CONTENT_TYPE": "application/json"],
            body: Array(body.utf8))
        #expect(app.router.handle(encoded, app.context).status == 404)
    }

    @Test func crossSiteWritesWithTheCookieAreRefused() throws {
        let r = try Roles()
        let cases: [([String: String], Int)] = [
            (["sec-fetch-site": "cross-site"], 403),
            (["sec-fetch-site": "same-site"], 403),
            (["sec-fetch-site": "same-origin"], 201),
            (["sec-fetch-site": "none"], 201),
            (["origin": "https://evil.example", "host": "edmo.example.edu"], 403),
            (["origin": "null", "host": "edmo.example.edu"], 403),
            (["origin": "https://edmo.example.edu", "host": "edmo.example.edu"], 201),
            ([:], 201),
        ]
        for (headers, status) in cases {
            let response = r.app.send("POST", "/api/analytics-keys", json: #"{"name":"k"}"#, token: r.admin, headers: headers)
            #expect(response.status == status, "\(headers)")
        }
        // Logout (no body) is covered too; without the cookie nothing is checked.
        #expect(r.app.send("POST", "/api/auth/logout", token: r.admin, headers: ["sec-fetch-site": "cross-site"]).status == 403)
        #expect(r.app.send("GET", "/api/auth/me", token: r.admin, headers: ["sec-fetch-site": "cross-site"]).status == 200)
        #expect(r.app.send("POST", "/api/auth/logout", headers: ["sec-fetch-site": "cross-site"]).status == 200)
    }

    @Test func changingAToolsURLDropsItsSecretUnlessGivenAgain() throws {
        let r = try Roles()
        let tool = #"{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}},"server":{"url":"https://crm.example.edu/hook","secret":"s3cret-value"}}"#
        let id = try #require(r.app.send("POST", "/api/tools", json: tool, token: r.editor).json["id"] as? String)
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"server":{"timeoutSeconds":30}}"#, token: r.editor).status == 200)
        #expect(try r.app.context.resources.toolSecret(toolId: id) != nil)
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"server":{"url":"https://attacker.example/x"}}"#, token: r.editor).status == 200)
        #expect(try r.app.context.resources.toolSecret(toolId: id) == nil)
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"server":{"url":"https://crm2.example.edu/h","secret":"new-secret"}}"#, token: r.editor).status == 200)
        let sealed = try #require(try r.app.context.resources.toolSecret(toolId: id))
        #expect(String(decoding: try #require(SecretBox(key: Array(repeating: 7, count: 32)).open(sealed)), as: UTF8.self) == "new-secret")
    }
}

@Suite struct GateQueueTests {
    @Test func beyondTheQueueCallersAreTurnedAwayAtOnce() throws {
        let gate = CapacityGate(limit: 1, resource: "test", waitSeconds: 5, maxWaiting: 1)
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchGroup()
        DispatchQueue.global().async(group: done) { _ = try? gate.run { holding.signal(); release.wait() } }
        holding.wait()
        DispatchQueue.global().async(group: done) { _ = try? gate.run {} }  // waits in the queue
        for _ in 0..<400 where gate.queued == 0 { Thread.sleep(forTimeInterval: 0.01) }
        #expect(gate.queued == 1)
        let started = Date()
        #expect(throws: ServerBusyError.self) { try gate.run {} }
        #expect(Date().timeIntervalSince(started) < 1)  // not the 5 s wait
        release.signal()
        done.wait()
        #expect(throws: Never.self) { try gate.run {} }
    }
}
