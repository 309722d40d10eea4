import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoSQLite
import EdmoAPI
import Foundation
import GRDB
import Testing

@Suite struct ToolTests {
    let functionTool = #"""
    {"type":"function","provider":"salesforce","async":false,
     "messages":[{"type":"request-start","content":"Looking that up"}],
     "function":{"name":"lookup_student","description":"Find a student","parameters":{"type":"object",
        "properties":{"id":{"type":"string","description":"Student id"},"tags":{"type":"array","items":{"type":"string"}}},
        "required":["id"]}},
     "server":{"url":"https://crm.example.edu/hook","secret":"s3cret-value","timeoutSeconds":20}}
    """#

    @Test func theThreeKindsOfTool() throws {
        let r = try Roles()
        let f = r.app.send("POST", "/api/tools", json: functionTool, token: r.editor)
        #expect(f.status == 201)
        #expect(f.json["type"] as? String == "function")
        #expect(f.json["provider"] as? String == "salesforce")
        #expect((f.json["function"] as? [String: Any])?["name"] as? String == "lookup_student")
        #expect((f.json["server"] as? [String: Any])?["url"] as? String == "https://crm.example.edu/hook")
        let api = r.app.send("POST", "/api/tools", json: #"{"type":"apiRequest","name":"status","method":"GET","url":"https://api.example.edu/status"}"#, token: r.editor)
        #expect(api.status == 201)
        let mcp = r.app.send("POST", "/api/tools", json: #"{"type":"mcp","name":"kb","server":{"url":"https://mcp.example.edu/mcp"},"metadata":{"a":1}}"#, token: r.editor)
        #expect(mcp.status == 201)
        #expect(r.app.send("GET", "/api/tools", token: r.viewer).header("X-Total-Count") == "3")
    }

    @Test func theServerSecretIsSealedAndNeverReturned() throws {
        let r = try Roles()
        let f = r.app.send("POST", "/api/tools", json: functionTool, token: r.editor)
        let id = try #require(f.json["id"] as? String)
        for response in [f, r.app.send("GET", "/api/tools/\(id)", token: r.editor), r.app.send("GET", "/api/tools", token: r.editor)] {
            #expect(!response.bodyString.contains("s3cret-value"))
            #expect(!response.bodyString.contains("\"secret\""))
        }
        let raw = try r.app.database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT t.body, s.sealed FROM tools t JOIN tool_secrets s ON s.tool_id = t.id")
        }
        #expect(raw.count == 1)
        #expect(!(raw[0]["body"] as String).contains("s3cret"))
        #expect(!String(decoding: raw[0]["sealed"] as Data, as: UTF8.self).contains("s3cret"))
        // A patch that does not mention the secret keeps it; one that nulls it clears it.
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"server":{"timeoutSeconds":30}}"#, token: r.editor).status == 200)
        #expect(try r.app.context.resources.toolSecret(toolId: id) != nil)
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"server":{"secret":null}}"#, token: r.editor).status == 200)
        #expect(try r.app.context.resources.toolSecret(toolId: id) == nil)
    }

    @Test func theProviderLabelIsPatchable() throws {
        let r = try Roles()
        let id = try #require(r.app.send("POST", "/api/tools", json: functionTool, token: r.editor).json["id"] as? String)
        let relabeled = r.app.send("PATCH", "/api/tools/\(id)", json: #"{"provider":"workday"}"#, token: r.editor)
        #expect(relabeled.json["provider"] as? String == "workday")
        #expect((relabeled.json["function"] as? [String: Any])?["name"] as? String == "lookup_student")
        let cleared = r.app.send("PATCH", "/api/tools/\(id)", json: #"{"provider":null}"#, token: r.editor)
        #expect(cleared.json["provider"] == nil)
    }

    @Test func invalidToolsAre400() throws {
        let r = try Roles()
        let cases: [(String, String)] = [
            (#"{"name":"x"}"#, "Missing required field: type"),
            (#"{"type":"webhook"}"#, "Invalid value for field: type"),
            (#"{"type":"function"}"#, "Missing required field: function"),
            (#"{"type":"function","function":{"name":"bad name","description":"d","parameters":{}}}"#, "Invalid value for field: function.name (1 to 64 letters, digits, _ or -)"),
            (#"{"type":"function","function":{"name":"f","description":"d","parameters":{"properties":{"a":{"type":"date"}}}}}"#, "Invalid value for field: function.parameters.properties.a.type"),
            (#"{"type":"function","function":{"name":"f","description":"d","parameters":{"required":["zz"]}}}"#, "Invalid value for field: function.parameters.required (zz is not a property)"),
            (#"{"type":"apiRequest","method":"GET","url":"ftp://example.edu/x"}"#, "Invalid value for field: url (an http or https URL)"),
            (#"{"type":"apiRequest","url":"https://example.edu/x"}"#, "Missing required field: method"),
            (#"{"type":"apiRequest","method":"GET","url":"https://example.edu/x","timeoutSeconds":0}"#, "Invalid value for field: timeoutSeconds (1 to 300)"),
            (#"{"type":"mcp","name":"x"}"#, "Missing required field: server"),
            (#"{"type":"mcp","server":{"url":"javascript:alert(1)"}}"#, "Invalid value for field: server.url (an http or https URL)"),
            (#"{"type":"mcp","server":{"url":"https://x.edu"},"provider":5}"#, "Invalid value for field: provider (a string)"),
        ]
        for (body, message) in cases {
            let response = r.app.send("POST", "/api/tools", json: body, token: r.admin)
            #expect(response.status == 400, "\(body)")
            #expect(response.error == message, "\(body)")
        }
        #expect(r.app.send("GET", "/api/tools", token: r.admin).header("X-Total-Count") == "0")
    }

    @Test func toolURLsMayNotPointAtThisHostOrAPrivateNetwork() throws {
        let r = try Roles()
        for url in ["http://127.0.0.1:8080/x", "http://169.254.169.254/latest", "http://localhost/x", "http://[::1]/x", "http://10.0.0.5/x"] {
            let api = r.app.send("POST", "/api/tools", json: #"{"type":"apiRequest","method":"GET","url":"\#(url)"}"#, token: r.admin)
            #expect(api.error == "Invalid value for field: url (not this host or a private network)", "\(url)")
            let mcp = r.app.send("POST", "/api/tools", json: #"{"type":"mcp","server":{"url":"\#(url)"}}"#, token: r.admin)
            #expect(mcp.status == 400)
        }
        let allowed = try Roles { $0.allowPrivateURLs = true }
        #expect(allowed.app.send("POST", "/api/tools", json: #"{"type":"mcp","server":{"url":"http://127.0.0.1:9/mcp"}}"#, token: allowed.admin).status == 201)
    }

    @Test func permissionsAndTenancy() throws {
        let r = try Roles()
        let id = try #require(r.app.send("POST", "/api/tools", json: functionTool, token: r.admin).json["id"] as? String)
        #expect(r.app.send("POST", "/api/tools", json: functionTool, token: r.viewer).status == 403)
        #expect(r.app.send("DELETE", "/api/tools/\(id)", token: r.viewer).status == 403)
        #expect(r.app.send("GET", "/api/tools/\(id)", token: r.otherAdmin).status == 404)
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"async":true}"#, token: r.otherAdmin).status == 404)
        #expect(r.app.send("DELETE", "/api/tools/\(id)", token: r.otherAdmin).status == 404)
        #expect(r.app.send("DELETE", "/api/tools/\(id)", token: r.editor).status == 200)
    }
}
