import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoAPI
import Foundation
import Testing

@Suite struct UserTests {
    /// An admin and a viewer in org "default", and an admin in org "other".
    func setUp() throws -> (TestApp, admin: String, viewer: String, otherUserId: String) {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        try app.addUser("viewer@example.edu", role: .viewer)
        let other = try app.addUser("admin@other.edu", org: "other")
        return (app, try app.login("admin@example.edu"), try app.login("viewer@example.edu"), other.id)
    }

    @Test func viewerAndEditorCannotManageUsers() throws {
        let (app, _, viewer, _) = try setUp()
        try app.addUser("editor@example.edu", role: .editor)
        let editor = try app.login("editor@example.edu")
        let body = #"{"email":"new@example.edu","password":"password-123","role":"VIEWER"}"#
        for token in [viewer, editor] {
            let response = app.send("POST", "/api/users", json: body, token: token)
            #expect(response.status == 403)
            #expect(response.error != nil)
            #expect(app.send("GET", "/api/users", token: token).status == 403)
        }
        #expect(app.send("POST", "/api/users", json: body).status == 401)
        #expect(try app.context.accounts.user(email: "new@example.edu") == nil)
    }

    @Test func adminCreatesListsReadsUpdatesAndDeletes() throws {
        let (app, admin, _, _) = try setUp()
        let created = app.send("POST", "/api/users", json: #"{"email":"New@Example.edu","password":"password-123","role":"EDITOR","name":"Nia"}"#, token: admin)
        #expect(created.status == 201)
        #expect(created.json["email"] as? String == "new@example.edu")
        #expect(created.json["role"] as? String == "EDITOR")
        let id = try #require(created.json["id"] as? String)

        app.clock.advance(1)
        let list = app.send("GET", "/api/users", token: admin)
        #expect(list.status == 200)
        #expect(list.header("X-Total-Count") == "3")
        #expect(list.jsonArray.first?["id"] as? String == id)  // newest first
        let page = app.send("GET", "/api/users?limit=1&offset=1", token: admin)
        #expect(page.jsonArray.count == 1)
        #expect(page.header("X-Total-Count") == "3")

        #expect(app.send("GET", "/api/users/\(id)", token: admin).json["name"] as? String == "Nia")
        let patched = app.send("PATCH", "/api/users/\(id)", json: #"{"name":null,"role":"VIEWER"}"#, token: admin)
        #expect(patched.status == 200)
        #expect(patched.json["name"] is NSNull)
        #expect(patched.json["role"] as? String == "VIEWER")
        #expect(app.send("DELETE", "/api/users/\(id)", token: admin).json["success"] as? Bool == true)
        #expect(app.send("GET", "/api/users/\(id)", token: admin).status == 404)
    }

    @Test func invalidInputIs400AndChangesNothing() throws {
        let (app, admin, _, _) = try setUp()
        let cases: [(String, String)] = [
            (#"{"email":"not-an-email","password":"password-123","role":"VIEWER"}"#, "email"),
            (#"{"email":"x@example.edu","password":"short","role":"VIEWER"}"#, "password"),
            (#"{"email":"x@example.edu","password":"password-123","role":"OWNER"}"#, "role"),
            (#"{"email":"x@example.edu","password":"password-123"}"#, "role"),
            (#"{"email":"x@example.edu","password":"password-123","role":"VIEWER","name":5}"#, "name"),
        ]
        for (body, field) in cases {
            let response = app.send("POST", "/api/users", json: body, token: admin)
            #expect(response.status == 400)
            #expect(response.error?.contains(field) == true, "\(body)")
        }
        #expect(try app.context.accounts.user(email: "x@example.edu") == nil)
        #expect(app.send("GET", "/api/users?limit=0", token: admin).status == 400)
        #expect(app.send("GET", "/api/users?limit=1001", token: admin).status == 400)
        #expect(app.send("GET", "/api/users?offset=-1", token: admin).status == 400)
    }

    @Test func duplicateEmailIs409() throws {
        let (app, admin, _, _) = try setUp()
        let response = app.send("POST", "/api/users", json: #"{"email":"ADMIN@other.edu","password":"password-123","role":"VIEWER"}"#, token: admin)
        #expect(response.status == 409)
    }

    @Test func anotherOrgsUserReadsAs404Everywhere() throws {
        let (app, admin, _, otherId) = try setUp()
        #expect(app.send("GET", "/api/users/\(otherId)", token: admin).status == 404)
        #expect(app.send("PATCH", "/api/users/\(otherId)", json: #"{"disabled":true}"#, token: admin).status == 404)
        #expect(app.send("DELETE", "/api/users/\(otherId)", token: admin).status == 404)
        #expect(!app.send("GET", "/api/users", token: admin).bodyString.contains(otherId))
        let other = try #require(try app.context.accounts.user(email: "admin@other.edu"))
        #expect(!other.disabled)
    }

    @Test func theLastActiveAdminCannotBeDemotedDisabledOrDeleted() throws {
        let (app, admin, _, _) = try setUp()
        let me = try #require(try app.context.accounts.user(email: "admin@example.edu"))
        for body in [#"{"role":"EDITOR"}"#, #"{"disabled":true}"#] {
            #expect(app.send("PATCH", "/api/users/\(me.id)", json: body, token: admin).status == 409)
        }
        #expect(app.send("DELETE", "/api/users/\(me.id)", token: admin).status == 409)
        #expect(try app.context.accounts.user(email: "admin@example.edu")?.role == .admin)

        let second = app.send("POST", "/api/users", json: #"{"email":"a2@example.edu","password":"password-123","role":"ADMIN"}"#, token: admin)
        let secondId = try #require(second.json["id"] as? String)
        #expect(app.send("PATCH", "/api/users/\(secondId)", json: #"{"role":"VIEWER"}"#, token: admin).status == 200)
        #expect(app.send("PATCH", "/api/users/\(secondId)", json: #"{"role":"ADMIN"}"#, token: admin).status == 200)
        // Now another admin exists, but nobody demotes, disables or deletes themselves.
        let selfDemote = app.send("PATCH", "/api/users/\(me.id)", json: #"{"role":"EDITOR"}"#, token: admin)
        #expect(selfDemote.status == 409)
        #expect(selfDemote.error == "You cannot disable or demote your own account")
        #expect(app.send("DELETE", "/api/users/\(me.id)", token: admin).status == 409)
        let other = try app.login("a2@example.edu")
        #expect(app.send("PATCH", "/api/users/\(me.id)", json: #"{"role":"EDITOR"}"#, token: other).status == 200)
    }

    @Test func nullForANonNullableFieldIs400() throws {
        let (app, admin, _, _) = try setUp()
        let viewer = try #require(try app.context.accounts.user(email: "viewer@example.edu"))
        for field in ["role", "disabled", "password"] {
            let response = app.send("PATCH", "/api/users/\(viewer.id)", json: #"{"\#(field)":null}"#, token: admin)
            #expect(response.status == 400)
            #expect(response.error == "Invalid value for field: \(field) (must not be null)")
        }
    }

    @Test func changingYourOwnPasswordKeepsThisSessionAndEndsTheOthers() throws {
        let (app, admin, _, _) = try setUp()
        let elsewhere = try app.login("admin@example.edu")
        let me = try #require(try app.context.accounts.user(email: "admin@example.edu"))
        #expect(app.send("PATCH", "/api/users/\(me.id)", json: #"{"password":"a-new-password"}"#, token: admin).status == 200)
        #expect(app.send("GET", "/api/auth/me", token: admin).status == 200)
        #expect(app.send("GET", "/api/auth/me", token: elsewhere).status == 401)
    }
}
