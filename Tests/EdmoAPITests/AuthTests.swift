import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoSQLite
import EdmoAPI
import Foundation
import Testing

@Suite struct AuthTests {
    @Test func loginSetsASecureSessionCookieAndReturnsTheUser() throws {
        let app = try TestApp()
        try app.addUser("Admin@Example.edu")
        let response = app.send("POST", "/api/auth/login", json: #"{"email":"admin@example.edu","password":"password-123"}"#)
        #expect(response.status == 200)
        #expect(response.json["message"] as? String == "Login successful")
        let user = try #require(response.json["user"] as? [String: Any])
        #expect(user["email"] as? String == "admin@example.edu")
        #expect(user["role"] as? String == "ADMIN")
        #expect(user["disabled"] as? Bool == false)
        #expect((user["permissions"] as? [String: [String]])?["users"] == ["read", "write"])
        #expect(user["passwordHash"] == nil && user["password_hash"] == nil)
        let cookie = try #require(response.header("Set-Cookie"))
        let token = cookie.split(separator: ";")[0].dropFirst("auth-token=".count)
        #expect(token.count == 64)
        #expect(cookie.contains("; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800"))
        #expect(!cookie.contains("Secure"))

        let overHTTPS = app.send("POST", "/api/auth/login", json: #"{"email":"admin@example.edu","password":"password-123"}"#, https: true)
        #expect(overHTTPS.header("Set-Cookie")?.hasSuffix("; Secure") == true)
    }

    @Test func loginMeLogoutMe() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let token = try app.login("admin@example.edu")
        let me = app.send("GET", "/api/auth/me", token: token)
        #expect(me.status == 200)
        #expect(((me.json["user"] as? [String: Any])?["organization"] as? [String: String])?["name"] == "default")
        #expect((me.json["user"] as? [String: Any])?["email"] as? String == "admin@example.edu")

        let logout = app.send("POST", "/api/auth/logout", token: token)
        #expect(logout.status == 200)
        #expect(logout.json["success"] as? Bool == true)
        #expect(logout.header("Set-Cookie")?.hasPrefix("auth-token=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0") == true)
        #expect(app.send("GET", "/api/auth/me", token: token).status == 401)
        #expect(app.send("POST", "/api/auth/logout").status == 200)
    }

    @Test func wrongPasswordAndUnknownEmailLookTheSame() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let wrong = app.send("POST", "/api/auth/login", json: #"{"email":"admin@example.edu","password":"nope-nope"}"#)
        let unknown = app.send("POST", "/api/auth/login", json: #"{"email":"ghost@example.edu","password":"nope-nope"}"#)
        #expect(wrong.status == 401)
        #expect(unknown.status == 401)
        #expect(wrong.body == unknown.body)
        #expect(wrong.header("Set-Cookie") == nil)
    }

    @Test func missingCredentialsAre400() throws {
        let app = try TestApp()
        #expect(app.send("POST", "/api/auth/login", json: #"{"email":"","password":"x"}"#).error == "Missing required field: email")
        // An empty password is simply wrong (the seed's schema allows the empty string).
        #expect(app.send("POST", "/api/auth/login", json: #"{"email":"a@b.c","password":""}"#).status == 401)
    }

    @Test func disabledAccountCannotLogIn() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let viewer = try app.addUser("v@example.edu", role: .viewer)
        _ = try app.context.accounts.updateUser(orgId: viewer.orgId, id: viewer.id, change: { var c = UserChange(); c.disabled = true; return c }(), now: t0)
        let response = app.send("POST", "/api/auth/login", json: #"{"email":"v@example.edu","password":"password-123"}"#)
        #expect(response.status == 403)
        #expect(response.error == "Account is disabled")
        let wrong = app.send("POST", "/api/auth/login", json: #"{"email":"v@example.edu","password":"wrong-password"}"#)
        #expect(wrong.status == 401)
    }

    @Test func meWithoutOrWithBadCookieIs401() throws {
        let app = try TestApp()
        #expect(app.send("GET", "/api/auth/me").status == 401)
        #expect(app.send("GET", "/api/auth/me", token: "forged").status == 401)
        #expect(app.send("GET", "/api/auth/me", token: String(repeating: "a", count: 500)).status == 401)
    }

    @Test func sessionsExpireWhenIdleAndAtTheirAbsoluteLimit() throws {
        let app = try TestApp {
            $0.sessionIdleSeconds = 3600
            $0.sessionMaxSeconds = 7200
        }
        try app.addUser("admin@example.edu")
        let token = try app.login("admin@example.edu")
        app.clock.advance(3000)
        #expect(app.send("GET", "/api/auth/me", token: token).status == 200)  // and refreshes last-seen
        app.clock.advance(3000)
        #expect(app.send("GET", "/api/auth/me", token: token).status == 200)
        app.clock.advance(1300)  // 7300 s after login: past the absolute limit though never idle for long
        #expect(app.send("GET", "/api/auth/me", token: token).status == 401)

        let second = try app.login("admin@example.edu")
        app.clock.advance(3601)
        #expect(app.send("GET", "/api/auth/me", token: second).status == 401)
    }

    @Test func disablingAUserOrChangingThePasswordRevokesSessionsAtOnce() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let editor = try app.addUser("e@example.edu", role: .editor)
        let admin = try app.login("admin@example.edu")
        let session = try app.login("e@example.edu")
        #expect(app.send("PATCH", "/api/users/\(editor.id)", json: #"{"disabled":true}"#, token: admin).status == 200)
        #expect(app.send("GET", "/api/auth/me", token: session).status == 401)
        #expect(app.send("PATCH", "/api/users/\(editor.id)", json: #"{"disabled":false}"#, token: admin).status == 200)
        let again = try app.login("e@example.edu")
        #expect(app.send("PATCH", "/api/users/\(editor.id)", json: #"{"password":"another-password"}"#, token: admin).status == 200)
        #expect(app.send("GET", "/api/auth/me", token: again).status == 401)
        #expect(try app.login("e@example.edu", password: "another-password").count == 64)
    }

    @Test func aDisabledUserWithALiveSessionGets403FromMe() throws {
        let app = try TestApp()
        let user = try app.addUser("admin@example.edu")
        let token = try app.login("admin@example.edu")
        // Only reachable if a session outlives the disable (another process mid-request): still refused.
        try app.database.pool.write { db in
            try db.execute(sql: "UPDATE users SET disabled = 1 WHERE id = ?", arguments: [user.id])
        }
        #expect(app.send("GET", "/api/auth/me", token: token).status == 403)
    }

    @Test func sixWrongPasswordsInARowGive429WithRetryAfter() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let wrong = #"{"email":"admin@example.edu","password":"wrong-password"}"#
        for _ in 1...5 { #expect(app.send("POST", "/api/auth/login", json: wrong).status == 401) }
        let sixth = app.send("POST", "/api/auth/login", json: wrong)
        #expect(sixth.status == 429)
        #expect(sixth.header("Retry-After") == "900")
        // Even the right password waits until the lock ends.
        let right = #"{"email":"admin@example.edu","password":"password-123"}"#
        #expect(app.send("POST", "/api/auth/login", json: right).status == 429)
        app.clock.advance(600)
        #expect(app.send("POST", "/api/auth/login", json: right).header("Retry-After") == "300")
        app.clock.advance(301)
        #expect(app.send("POST", "/api/auth/login", json: right).status == 200)
        // Success cleared the account's counter.
        #expect(app.send("POST", "/api/auth/login", json: wrong).status == 401)
    }

    @Test func oneAddressSprayingManyAccountsIsThrottled() throws {
        let app = try TestApp { $0.loginAddressMaxFailures = 4 }
        for i in 1...4 {
            let response = app.send("POST", "/api/auth/login", json: #"{"email":"u\#(i)@example.edu","password":"wrong-password"}"#, address: "203.0.113.9")
            #expect(response.status == 401)
        }
        let next = app.send("POST", "/api/auth/login", json: #"{"email":"u9@example.edu","password":"wrong-password"}"#, address: "203.0.113.9")
        #expect(next.status == 429)
        let elsewhere = app.send("POST", "/api/auth/login", json: #"{"email":"u9@example.edu","password":"wrong-password"}"#, address: "203.0.113.10")
        #expect(elsewhere.status == 401)
    }

    @Test func passwordsAreStoredAsArgon2idHashes() throws {
        let app = try TestApp()
        let user = try app.addUser("admin@example.edu")
        #expect(user.passwordHash.hasPrefix("$argon2id$"))
        #expect(!user.passwordHash.contains("password-123"))
        let hasher = PasswordHasher.fastForTests()
        let hash = try hasher.hash("correct horse")
        #expect(try hasher.verify("correct horse", hash: hash))
        #expect(try !hasher.verify("correct horsE", hash: hash))
    }

    @Test func sessionTokensAreStoredHashed() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let token = try app.login("admin@example.edu")
        let stored = try app.database.pool.read { db in try String.fetchAll(db, sql: "SELECT token_hash FROM sessions") }
        #expect(stored == [Tokens.sha256Hex(token)])
    }
}
