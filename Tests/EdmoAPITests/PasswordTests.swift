import EdmoCore
import EdmoService
import EdmoStore
import EdmoAPI
import Foundation
import Testing

/// Issue 15's passwords through the router, on both stores: an invite with a generated first password, an
/// ADMIN's reset, everyone's own change (throttled like a login), and what the audit log keeps of them.
@Suite struct PasswordTests {
    /// The router over one store kind, with an admin, an editor and a viewer signed in (org "default"),
    /// and an admin of org "other".
    struct App {
        let db: ChatContractDatabase
        let clock = TestClock(t0)
        let context: AppContext
        let router = Router()
        let admin, editor, viewer: String

        init(_ kind: StoreKind) throws {
            db = try ChatContractDatabase(kind)
            var config = Config(database: "", secretKey: Array(repeating: 7, count: 32))
            config.loginMaxFailures = 3
            context = AppContext(
                config: config, stores: db.stores, clock: clock.clock, ids: CountingIDs().generator,
                passwords: .fastForTests(), log: .silent)
            for (email, role, org) in [("admin@example.edu", Role.admin, "default"), ("editor@example.edu", .editor, "default"),
                                       ("viewer@example.edu", .viewer, "default"), ("admin@other.edu", .admin, "other")] {
                _ = try UserAccounts.create(context, email: email, password: "password-123", role: role, name: nil, orgName: org)
            }
            var tokens: [String] = []
            for email in ["admin@example.edu", "editor@example.edu", "viewer@example.edu"] {
                tokens.append(try Self.login(router, context, email, "password-123"))
            }
            (admin, editor, viewer) = (tokens[0], tokens[1], tokens[2])
        }

        static func login(_ router: Router, _ context: AppContext, _ email: String, _ password: String) throws -> String {
            let response = send(router, context, "POST", "/api/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"}"#)
            guard response.status == 200, let cookie = response.header("Set-Cookie"),
                  let token = cookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last
            else { throw TestFailure("login failed: \(response.status) \(response.bodyString)") }
            return String(token)
        }

        static func send(
            _ router: Router, _ context: AppContext, _ method: String, _ path: String, json: String? = nil, token: String? = nil,
            headers: [String: String] = [:]
        ) -> Response {
            var all = headers
            if let json { all["content-type"] = "application/json"; all["content-length"] = String(json.utf8.count) }
            if let token { all["cookie"] = "auth-token=\(token)" }
            let parts = path.split(separator: "?", maxSplits: 1)
            var request = Request(
                method: method, path: String(parts[0]), headers: all, body: Array((json ?? "").utf8), remoteAddress: "10.0.0.1",
                isHTTPS: false, requestId: "test-request-id")
            for item in parts.dropFirst().flatMap({ $0.split(separator: "&") }) {
                let kv = item.split(separator: "=", maxSplits: 1)
                request.query[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
            return router.handle(request, context)
        }

        func send(_ method: String, _ path: String, json: String? = nil, token: String? = nil, headers: [String: String] = [:]) -> Response {
            Self.send(router, context, method, path, json: json, token: token, headers: headers)
        }

        func login(_ email: String, _ password: String) -> Int {
            send("POST", "/api/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"}"#).status
        }

        func user(_ email: String) throws -> UserRecord { try #require(try context.accounts.user(email: email)) }

        func audit(_ action: String) -> [[String: Any]] {
            send("GET", "/api/audit-log?action=\(action)", token: admin).jsonArray
        }
    }

    @Test(arguments: StoreKind.tested)
    func anInviteWithoutAPasswordAnswersAGeneratedOneOnce(_ kind: StoreKind) throws {
        let app = try App(kind)
        let created = app.send("POST", "/api/users", json: #"{"email":"new@example.edu","role":"EDITOR"}"#, token: app.admin)
        #expect(created.status == 201)
        let password = try #require(created.json["initialPassword"] as? String)
        #expect(password.range(of: #"^[a-km-zA-HJ-NP-Z2-9]{5}(-[a-km-zA-HJ-NP-Z2-9]{5}){3}$"#, options: .regularExpression) != nil)
        #expect(app.login("new@example.edu", password) == 200)
        // Shown once: neither a read, the list nor the audit log carries it.
        let id = try #require(created.json["id"] as? String)
        for path in ["/api/users/\(id)", "/api/users", "/api/audit-log"] {
            let body = app.send("GET", path, token: app.admin).bodyString
            #expect(!body.contains(password) && !body.contains("initialPassword"), "\(path)")
        }
        let entry = try #require(app.audit("user.create").first)
        #expect((entry["changes"] as? [String: [String: Any]])?["password"]?["new"] as? String == "[redacted]")
        // With a password, as before: no generated one in the answer.
        let given = app.send("POST", "/api/users", json: #"{"email":"given@example.edu","password":"given-pass-1","role":"VIEWER"}"#, token: app.admin)
        #expect(given.status == 201 && given.json["initialPassword"] == nil)
        #expect(app.login("given@example.edu", "given-pass-1") == 200)
        // null is not "absent": a 400 naming the field, and no user.
        let null = app.send("POST", "/api/users", json: #"{"email":"null@example.edu","password":null,"role":"VIEWER"}"#, token: app.admin)
        #expect(null.status == 400 && null.error?.contains("password") == true)
        #expect(try app.context.accounts.user(email: "null@example.edu") == nil)
        // Two invites never share a password.
        let other = app.send("POST", "/api/users", json: #"{"email":"third@example.edu","role":"VIEWER"}"#, token: app.admin)
        #expect(other.json["initialPassword"] as? String != password)
    }

    @Test(arguments: StoreKind.tested)
    func aResetAnswersANewPasswordOnceAndEndsThatUsersSessions(_ kind: StoreKind) throws {
        let app = try App(kind)
        let editor = try app.user("editor@example.edu")
        let reset = app.send("POST", "/api/users/\(editor.id)/reset-password", token: app.admin)
        #expect(reset.status == 200, "\(reset.bodyString)")
        #expect(reset.json["id"] as? String == editor.id)
        let password = try #require(reset.json["initialPassword"] as? String)
        #expect(app.send("GET", "/api/auth/me", token: app.editor).status == 401)
        #expect(app.login("editor@example.edu", "password-123") == 401)
        #expect(app.login("editor@example.edu", password) == 200)
        #expect(app.send("GET", "/api/auth/me", token: app.admin).status == 200)
        let entry = try #require(app.audit("user.reset_password").first)
        #expect(entry["targetId"] as? String == editor.id)
        #expect(entry["changes"] as? [String: [String: String]] == ["password": ["old": "[redacted]", "new": "[redacted]"]])
        #expect(!app.send("GET", "/api/audit-log", token: app.admin).bodyString.contains(password))

        let me = try app.user("admin@example.edu")
        #expect(app.send("POST", "/api/users/\(me.id)/reset-password", token: app.admin).status == 409)
        let other = try app.user("admin@other.edu")
        #expect(app.send("POST", "/api/users/\(other.id)/reset-password", token: app.admin).status == 404)
        #expect(app.send("POST", "/api/users/usr_nobody/reset-password", token: app.admin).status == 404)
        #expect(try app.user("admin@other.edu").passwordHash == other.passwordHash)
    }

    @Test(arguments: StoreKind.tested)
    func editorsAndViewersGet403FromEveryAdminOperation(_ kind: StoreKind) throws {
        let app = try App(kind)
        let viewer = try app.user("viewer@example.edu")
        let operations: [(String, String, String?)] = [
            ("GET", "/api/users", nil), ("POST", "/api/users", #"{"email":"x@example.edu","role":"ADMIN"}"#),
            ("GET", "/api/users/\(viewer.id)", nil), ("PATCH", "/api/users/\(viewer.id)", #"{"role":"ADMIN"}"#),
            ("DELETE", "/api/users/\(viewer.id)", nil), ("POST", "/api/users/\(viewer.id)/reset-password", nil),
            ("GET", "/api/analytics-keys", nil), ("POST", "/api/analytics-keys", #"{"name":"mine"}"#),
            ("DELETE", "/api/analytics-keys/ak_any", nil), ("GET", "/api/audit-log", nil),
        ]
        for token in [app.editor, app.viewer] {
            for (method, path, body) in operations {
                let response = app.send(method, path, json: body, token: token)
                #expect(response.status == 403, "\(method) \(path)")
                #expect(response.error == "You do not have permission to do this")
            }
        }
        #expect(try app.user("viewer@example.edu") == viewer)
        #expect(try app.context.accounts.user(email: "x@example.edu") == nil)
        #expect(try app.context.analytics.keys(orgId: viewer.orgId).isEmpty)
    }

    @Test(arguments: StoreKind.tested)
    func anyoneChangesTheirOwnPasswordAndTheirOtherSessionsEnd(_ kind: StoreKind) throws {
        let app = try App(kind)
        let elsewhere = try App.login(app.router, app.context, "viewer@example.edu", "password-123")
        let body = #"{"currentPassword":"password-123","newPassword":"a-new-password-9"}"#
        let changed = app.send("POST", "/api/auth/password", json: body, token: app.viewer)
        #expect(changed.status == 200, "\(changed.bodyString)")
        #expect(changed.json["success"] as? Bool == true)
        #expect(app.send("GET", "/api/auth/me", token: app.viewer).status == 200)
        #expect(app.send("GET", "/api/auth/me", token: elsewhere).status == 401)
        #expect(app.send("GET", "/api/auth/me", token: app.editor).status == 200)
        #expect(app.login("viewer@example.edu", "password-123") == 401)
        #expect(app.login("viewer@example.edu", "a-new-password-9") == 200)
        let entry = try #require(app.audit("auth.password_change").first)
        #expect(entry["actorLabel"] as? String == "viewer@example.edu")
        #expect(entry["changes"] as? [String: [String: String]] == ["password": ["old": "[redacted]", "new": "[redacted]"]])
        #expect(!app.send("GET", "/api/audit-log", token: app.admin).bodyString.contains("a-new-password-9"))
    }

    @Test(arguments: StoreKind.tested)
    func aWrongCurrentPasswordIs400AndCountsAgainstTheLoginThrottle(_ kind: StoreKind) throws {
        let app = try App(kind)
        let before = try app.user("editor@example.edu")
        let wrong = #"{"currentPassword":"not-it-123","newPassword":"a-new-password-9"}"#
        for _ in 0..<3 {
            let response = app.send("POST", "/api/auth/password", json: wrong, token: app.editor)
            #expect(response.status == 400)
            #expect(response.error == "Invalid value for field: currentPassword (it is not your current password)")
        }
        // Locked (3 failures here): the right password no longer gets through, nor does a login from here.
        let right = #"{"currentPassword":"password-123","newPassword":"a-new-password-9"}"#
        let locked = app.send("POST", "/api/auth/password", json: right, token: app.editor)
        #expect(locked.status == 429)
        #expect(locked.header("Retry-After") != nil)
        #expect(app.login("editor@example.edu", "password-123") == 429)
        #expect(try app.user("editor@example.edu").passwordHash == before.passwordHash)
        #expect(app.send("GET", "/api/auth/me", token: app.editor).status == 200)
        #expect(app.audit("auth.password_change_failed").count == 3)
        app.clock.advance(901)
        #expect(app.send("POST", "/api/auth/password", json: right, token: app.editor).status == 200)
    }

    @Test(arguments: StoreKind.tested)
    func badInputAndOtherCallersChangeNothing(_ kind: StoreKind) throws {
        let app = try App(kind)
        let before = try app.user("editor@example.edu")
        let cases: [(String, String)] = [
            (#"{"currentPassword":"password-123","newPassword":"short"}"#, "newPassword"),
            (#"{"currentPassword":"password-123","newPassword":"password-123"}"#, "newPassword"),
            (#"{"newPassword":"a-new-password-9"}"#, "currentPassword"),
            (#"{"currentPassword":"password-123"}"#, "newPassword"),
            (#"{"currentPassword":5,"newPassword":"a-new-password-9"}"#, "currentPassword"),
        ]
        for (body, field) in cases {
            let response = app.send("POST", "/api/auth/password", json: body, token: app.editor)
            #expect(response.status == 400, "\(body)")
            #expect(response.error?.contains(field) == true, "\(body): \(response.error ?? "")")
        }
        let right = #"{"currentPassword":"password-123","newPassword":"a-new-password-9"}"#
        // No session: 401, also with an analytics key (keys read analytics, they are nobody's account).
        #expect(app.send("POST", "/api/auth/password", json: right).status == 401)
        let key = app.send("POST", "/api/analytics-keys", token: app.admin).json["key"] as? String
        #expect(app.send("POST", "/api/auth/password", json: right, headers: ["x-api-key": key ?? ""]).status == 401)
        #expect(try app.user("editor@example.edu").passwordHash == before.passwordHash)
    }
}
