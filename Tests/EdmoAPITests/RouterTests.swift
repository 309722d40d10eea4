import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
@testable import EdmoAPI
import Foundation
import Testing

@Suite struct RouterTests {
    @Test func unknownPathIs404WithEnvelope() throws {
        let app = try TestApp()
        let response = app.send("GET", "/api/nothing-here")
        #expect(response.status == 404)
        #expect(response.error?.contains("/api/nothing-here") == true)
        #expect(response.header("Content-Type") == "application/json")
    }

    @Test func wrongMethodIs405WithAllow() throws {
        let app = try TestApp()
        let response = app.send("DELETE", "/api/auth/me")
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET")
        #expect(response.error != nil)
    }

    @Test func oversizeBodyIs413BeforeTheHandler() throws {
        let app = try TestApp { $0.maxBodyBytes = 1024 }
        let big = #"{"email":"a@b.c","password":""# + String(repeating: "x", count: 2000) + #""}"#
        let response = app.send("POST", "/api/auth/login", json: big)
        #expect(response.status == 413)
    }

    @Test func declaredLengthOverLimitIs413() throws {
        let app = try TestApp()
        let response = app.send("POST", "/api/auth/login", headers: ["content-length": "2097152", "content-type": "application/json"])
        #expect(response.status == 413)
    }

    @Test func nonJSONBodyIs415() throws {
        let app = try TestApp()
        let response = app.send("POST", "/api/auth/login", json: "email=a", headers: ["content-type": "text/plain"])
        #expect(response.status == 415)
        #expect(response.error?.contains("application/json") == true)
    }

    @Test func jsonWithCharsetIsAccepted() throws {
        let app = try TestApp()
        let response = app.send(
            "POST", "/api/auth/login", json: #"{"email":"x@y.z","password":"nope-nope"}"#,
            headers: ["content-type": "application/json; charset=utf-8"])
        #expect(response.status == 401)
    }

    @Test func malformedJSONIs400() throws {
        let app = try TestApp()
        let response = app.send("POST", "/api/auth/login", json: #"{"email": "a@b.c", "#)
        #expect(response.status == 400)
        #expect(response.error == "Malformed JSON body")
    }

    @Test func missingFieldIs400NamingIt() throws {
        let app = try TestApp()
        let response = app.send("POST", "/api/auth/login", json: #"{"email": "a@b.c"}"#)
        #expect(response.status == 400)
        #expect(response.error == "Missing required field: password")
        let wrongType = app.send("POST", "/api/auth/login", json: #"{"email": 5, "password": "x"}"#)
        #expect(wrongType.status == 400)
        #expect(wrongType.error == "Invalid value for field: email")
        let notObject = app.send("POST", "/api/auth/login", json: "[1,2]")
        #expect(notObject.status == 400)
    }

    @Test func emptyBodyOnLoginIs400() throws {
        let app = try TestApp()
        #expect(app.send("POST", "/api/auth/login").status == 400)
    }

    @Test func everyResponseCarriesRequestIdAndNoStore() throws {
        let app = try TestApp()
        for response in [app.send("GET", "/api/auth/me"), app.send("GET", "/api/x")] {
            #expect(response.header("X-Request-Id") == "test-request-id")
            #expect(response.header("Cache-Control") == "no-store")
        }
    }

    @Test func accessLogHasOneLinePerRequestWithoutSecrets() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let token = try app.login("admin@example.edu")
        _ = app.send("GET", "/api/auth/me", token: token)
        let access = app.logLines.all.filter { $0.hasPrefix("access: ") }
        #expect(access.count == 2)
        #expect(access.last == "access: GET /api/auth/me 200 " + access.last!.split(separator: " ")[4] + " id=test-request-id")
        for line in app.logLines.all {
            #expect(!line.contains(token))
            #expect(!line.contains("password-123"))
        }
    }

    @Test func percentEncodedPathsAndQueriesDecode() {
        let request = Request.fromCGI(
            params: [
                "REQUEST_METHOD": "GET", "REQUEST_URI": "/api/users/usr%5F1?limit=5&x=a%20b",
                "QUERY_STRING": "limit=5&x=a%20b", "HTTP_COOKIE": "a=1; auth-token=tok", "HTTPS": "on",
                "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "192.0.2.1", "HTTP_X_REQUEST_ID": "abcdef0123456789",
            ],
            body: [])
        #expect(request.path == "/api/users/usr_1")
        #expect(request.query == ["limit": "5", "x": "a b"])
        #expect(request.cookies["auth-token"] == "tok")
        #expect(request.isHTTPS)
        #expect(request.header("content-type") == "application/json")
        #expect(request.remoteAddress == "192.0.2.1")
        #expect(request.requestId == "abcdef0123456789")
        let minted = Request.fromCGI(params: ["HTTP_X_REQUEST_ID": "bad id; drop table"], body: [])
        #expect(minted.requestId.count == 32)
    }

    @Test func timestampsAreISO8601WithMilliseconds() {
        #expect(Timestamp.format(t0) == "2024-01-01T10:00:00.000Z")
        #expect(Timestamp.format(t0.addingTimeInterval(0.25)) == "2024-01-01T10:00:00.250Z")
        #expect(Timestamp.parse("2024-01-01T10:00:00.250Z") == t0.addingTimeInterval(0.25))
    }
}

@Suite struct HotPathParsingTests {
    @Test func oneCookieIsFoundAmongOthers() {
        let request = Request(method: "GET", path: "/", headers: ["cookie": "theme=dark; auth-tokenx=no;  auth-token=abc123 ; z=1"])
        #expect(request.cookie("auth-token") == "abc123")
        #expect(request.cookie("theme") == "dark")
        #expect(request.cookie("missing") == nil)
        #expect(Request(method: "GET", path: "/", headers: ["cookie": "auth-token="]).cookie("auth-token") == "")
        #expect(Request(method: "GET", path: "/").cookie("auth-token") == nil)
    }

    @Test func handWrittenJSONMatchesJSONEncoder() throws {
        let user = UserRecord(
            id: "usr_1", orgId: "org_1", email: "a\"b\\c@x.edu", name: "Tab\there\nü😀\u{1}", role: .viewer,
            disabled: true, passwordHash: "", createdAt: "", updatedAt: "")
        let text = UserJSON.text(user)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["email"] as? String == user.email)
        #expect(parsed["name"] as? String == user.name)
        #expect(parsed["disabled"] as? Bool == true)
        #expect((parsed["permissions"] as? [String: [String]])?["agents"] == ["read"])
        var nameless = user
        nameless.name = nil
        #expect(UserJSON.text(nameless).contains("\"name\":null"))
    }

    @Test func canonicalTimestampsParseLikeTheGeneralParser() {
        for text in ["2024-01-01T10:00:00.000Z", "1999-12-31T23:59:59.999Z", "2030-06-15T00:00:00.001Z"] {
            #expect(Timestamp.parse(text).map(Timestamp.format) == text)
        }
        #expect(Timestamp.parse("2024-01-01T10:00:00Z") == t0)
        #expect(Timestamp.parse("not a date") == nil)
    }
}

@Suite struct RouteSpecificityTests {
    @Test func aLiteralSegmentBeatsAParameter() throws {
        let r = try Roles()
        let assistant = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor).json["id"] as? String)
        let wrongMethod = r.app.send("GET", "/api/assistants/\(assistant)/knowledge/import", token: r.editor)
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "POST")
        #expect(r.app.send("GET", "/api/assistants/\(assistant)/knowledge/kb_x", token: r.editor).status == 404)
    }
}

@Suite struct JSONCheckTests {
    @Test func acceptsWellFormedJSON() throws {
        for text in [#"{}"#, #"[]"#, #"{"a":[1,-2.5e3,true,false,null,"x\"\\\u00e9"],"b":{"c":0}}"#, #""s""#, "0", " [ ] "] {
            #expect(throws: Never.self) { try JSONCheck.validate(Array(text.utf8)) }
        }
    }

    @Test func refusesMalformedDuplicateAndDeep() {
        for text in [#"{"a":1,}"#, #"[1 2]"#, #"{"a"}"#, "01", "1.", "NaN", #"{"a":1} x"#, "\"\u{01}\"", #""\x""#, ""] {
            #expect(throws: JSONCheck.Failure.malformed, "\(text)") { try JSONCheck.validate(Array(text.utf8)) }
        }
        #expect(throws: JSONCheck.Failure.malformed) { try JSONCheck.validate([0x22, 0xff, 0x22]) }
        #expect(throws: JSONCheck.Failure.duplicateKey("role")) { try JSONCheck.validate(Array(#"{"role":"VIEWER","x":{},"role":"ADMIN"}"#.utf8)) }
        #expect(throws: JSONCheck.Failure.tooDeep) { try JSONCheck.validate(Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)) }
    }

    @Test func theRouterAnswersThemWith400() throws {
        let app = try TestApp()
        let response = app.send("POST", "/api/auth/login", json: #"{"email":"a@b.c","email":"x@y.z","password":"p"}"#)
        #expect(response.status == 400 && response.error == "Duplicate key in JSON body: email")
        let nul = app.send("POST", "/api/auth/login", json: #"{"email":"a\u0000@b.c","password":"p"}"#)
        #expect(nul.status == 400 && nul.error == #"JSON body holds a NUL character (\u0000), which text cannot contain"#)
    }

    /// Neither store can keep a NUL in text (PostgreSQL refuses it, SQLite cuts the text at it).
    @Test func aNulNeverReachesAStore() {
        #expect(throws: JSONCheck.Failure.nulCharacter) { try JSONCheck.validate(Array(#"{"name":"a\u0000b"}"#.utf8)) }
        #expect(throws: Never.self) { try JSONCheck.validate(Array(#"{"name":"a\u0001b"}"#.utf8)) }
        #expect(Request.decodePath("/api/assistants/a%00b") == "/api/assistants/a%00b")
        #expect(Request.decodePath("/api/assistants/a%20b") == "/api/assistants/a b")
        #expect(Request.parseQuery("assistantId=x%00&channel=web") == ["assistantId": "x%00", "channel": "web"])
    }
}
