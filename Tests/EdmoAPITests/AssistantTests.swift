import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoAPI
import Foundation
import Testing

let assistantBody = #"""
{"name":"Enrollment Assistant","firstMessage":"Hi!","firstMessageMode":"assistant-speaks-first",
 "model":{"provider":"openai","model":"gpt-4o","temperature":0.7,"maxTokens":1024,
          "messages":[{"role":"system","content":"You help with enrollment."}]},
 "voice":{"provider":"openai","voiceId":"alloy"},"maxDurationSeconds":1800,"metadata":{"team":"admissions"}}
"""#

/// Admin, editor and viewer in org "default"; an admin in org "other".
struct Roles {
    let app: TestApp
    let admin: String, editor: String, viewer: String, otherAdmin: String

    init(configure: (inout Config) -> Void = { _ in }) throws {
        app = try TestApp(configure: configure)
        try app.addUser("admin@example.edu")
        try app.addUser("editor@example.edu", role: .editor)
        try app.addUser("viewer@example.edu", role: .viewer)
        try app.addUser("admin@other.edu", org: "other")
        admin = try app.login("admin@example.edu")
        editor = try app.login("editor@example.edu")
        viewer = try app.login("viewer@example.edu")
        otherAdmin = try app.login("admin@other.edu")
    }
}

@Suite struct AssistantTests {
    @Test func createGetListPatchDelete() throws {
        let r = try Roles()
        let created = r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor)
        #expect(created.status == 201)
        let a = created.json
        let id = try #require(a["id"] as? String)
        #expect(id.hasPrefix("asst_"))
        #expect(try a["orgId"] as? String == r.app.context.accounts.user(email: "editor@example.edu")?.orgId)
        #expect(a["createdAt"] as? String == "2024-01-01T10:00:00.000Z")
        #expect(a["updatedAt"] as? String == "2024-01-01T10:00:00.000Z")
        #expect(a["providerId"] is NSNull)
        #expect((a["model"] as? [String: Any])?["temperature"] as? Double == 0.7)
        #expect(((a["model"] as? [String: Any])?["messages"] as? [[String: Any]])?.first?["content"] as? String == "You help with enrollment.")
        #expect((a["metadata"] as? [String: Any])?["team"] as? String == "admissions")

        #expect(r.app.send("GET", "/api/assistants/\(id)", token: r.viewer).json["name"] as? String == "Enrollment Assistant")

        r.app.clock.advance(5)
        let second = r.app.send("POST", "/api/assistants", json: #"{"model":{"provider":"anthropic","model":"claude"},"voice":{}}"#, token: r.admin)
        #expect(second.status == 201)
        let list = r.app.send("GET", "/api/assistants", token: r.viewer)
        #expect(list.header("X-Total-Count") == "2")
        #expect(list.jsonArray.map { $0["id"] as? String } == [second.json["id"] as? String, id])  // newest first
        #expect(r.app.send("GET", "/api/assistants?limit=1&offset=1", token: r.viewer).jsonArray.first?["id"] as? String == id)

        r.app.clock.advance(60)
        let patched = r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"name":null,"model":{"temperature":0.2},"endCallPhrases":["bye"]}"#, token: r.editor)
        #expect(patched.status == 200)
        let p = patched.json
        #expect(p["name"] == nil)  // null cleared it
        #expect(p["firstMessage"] as? String == "Hi!")  // absent stayed
        #expect((p["model"] as? [String: Any])?["temperature"] as? Double == 0.2)
        #expect((p["model"] as? [String: Any])?["model"] as? String == "gpt-4o")  // merged, not replaced
        #expect(p["endCallPhrases"] as? [String] == ["bye"])
        #expect(p["createdAt"] as? String == "2024-01-01T10:00:00.000Z")
        #expect(p["updatedAt"] as? String == "2024-01-01T10:01:05.000Z")

        #expect(r.app.send("DELETE", "/api/assistants/\(id)", token: r.editor).json["success"] as? Bool == true)
        #expect(r.app.send("GET", "/api/assistants/\(id)", token: r.editor).status == 404)
        #expect(r.app.send("DELETE", "/api/assistants/\(id)", token: r.editor).status == 404)
    }

    @Test func backgroundSoundAndRecordingAreKept() throws {
        let r = try Roles()
        let body = #"{"model":{"provider":"openai","model":"m"},"voice":{},"backgroundSound":"office","recordingEnabled":false}"#
        let a = r.app.send("POST", "/api/assistants", json: body, token: r.admin)
        #expect(a.json["backgroundSound"] as? String == "office" && a.json["recordingEnabled"] as? Bool == false)
        let id = try #require(a.json["id"] as? String)
        let patched = r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"backgroundSound":null,"recordingEnabled":true}"#, token: r.admin)
        #expect(patched.json["backgroundSound"] == nil && patched.json["recordingEnabled"] as? Bool == true)
        #expect(r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"backgroundSound":"jungle"}"#, token: r.admin).error == "Invalid value for field: backgroundSound")
    }

    @Test func serverOwnedFieldsAreNeverTakenFromTheBody() throws {
        let r = try Roles()
        let body = #"{"id":"mine","orgId":"org_x","createdAt":"1999-01-01T00:00:00.000Z","providerId":"p","model":{"provider":"openai","model":"m"},"voice":{}}"#
        let a = r.app.send("POST", "/api/assistants", json: body, token: r.admin).json
        #expect(a["id"] as? String != "mine")
        #expect(a["orgId"] as? String != "org_x")
        #expect(a["createdAt"] as? String == "2024-01-01T10:00:00.000Z")
        #expect(a["providerId"] is NSNull)
    }

    @Test func invalidInputIs400NamingTheFieldAndChangesNothing() throws {
        let r = try Roles()
        let cases: [(String, String)] = [
            (#"{"voice":{}}"#, "Missing required field: model"),
            (#"{"model":{"provider":"openai","model":"m"}}"#, "Missing required field: voice"),
            (#"{"model":{"provider":"mistral","model":"m"},"voice":{}}"#, "Invalid value for field: model.provider"),
            (#"{"model":{"provider":"openai","model":"m","temperature":2.5},"voice":{}}"#, "Invalid value for field: model.temperature (0 to 2)"),
            (#"{"model":{"provider":"openai","model":"m","maxTokens":0},"voice":{}}"#, "Invalid value for field: model.maxTokens (1 to 100000)"),
            (#"{"model":{"provider":"openai","model":""},"voice":{}}"#, "Invalid value for field: model.model (must not be empty)"),
            (#"{"model":{"provider":"openai","model":"m"},"voice":{"provider":"acme"}}"#, "Invalid value for field: voice.provider"),
            (#"{"model":{"provider":"openai","model":"m"},"voice":{},"firstMessageMode":"shout"}"#, "Invalid value for field: firstMessageMode"),
            (#"{"model":{"provider":"openai","model":"m"},"voice":{},"maxDurationSeconds":1}"#, "Invalid value for field: maxDurationSeconds (10 to 43200)"),
            (#"{"model":{"provider":"openai","model":"m"},"voice":{},"metadata":[1]}"#, "Invalid value for field: metadata"),
            (#"{"model":{"provider":"openai","model":"m"},"voice":{},"endCallPhrases":"bye"}"#, "Invalid value for field: endCallPhrases"),
            (#"[]"#, "Request body must be a JSON object"),
        ]
        for (body, message) in cases {
            let response = r.app.send("POST", "/api/assistants", json: body, token: r.admin)
            #expect(response.status == 400, "\(body)")
            #expect(response.error == message, "\(body)")
        }
        #expect(r.app.send("GET", "/api/assistants", token: r.admin).header("X-Total-Count") == "0")

        let id = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.admin).json["id"] as? String)
        let before = r.app.send("GET", "/api/assistants/\(id)", token: r.admin).bodyString
        for patch in [#"{"model":{"temperature":3}}"#, #"{"model":null}"#, #"{"voice":{"provider":"nope"}}"#] {
            #expect(r.app.send("PATCH", "/api/assistants/\(id)", json: patch, token: r.admin).status == 400)
        }
        #expect(r.app.send("GET", "/api/assistants/\(id)", token: r.admin).bodyString == before)
    }

    @Test func viewersReadEditorsWriteOtherOrgsSee404() throws {
        let r = try Roles()
        let id = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor).json["id"] as? String)
        #expect(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.viewer).status == 403)
        #expect(r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"name":"x"}"#, token: r.viewer).status == 403)
        #expect(r.app.send("DELETE", "/api/assistants/\(id)", token: r.viewer).status == 403)
        #expect(r.app.send("GET", "/api/assistants/\(id)", token: r.viewer).status == 200)
        #expect(r.app.send("GET", "/api/assistants").status == 401)
        for (method, body) in [("GET", nil), ("PATCH", #"{"name":"x"}"#), ("DELETE", nil)] as [(String, String?)] {
            #expect(r.app.send(method, "/api/assistants/\(id)", json: body, token: r.otherAdmin).status == 404)
        }
        #expect(r.app.send("GET", "/api/assistants", token: r.otherAdmin).jsonArray.isEmpty)
        #expect(r.app.send("GET", "/api/assistants/\(id)", token: r.viewer).json["name"] as? String == "Enrollment Assistant")
    }
}
