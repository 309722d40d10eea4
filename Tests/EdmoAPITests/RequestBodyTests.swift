import EdmoAPI
import EdmoCore
import EdmoService
import Foundation
import Testing

/// A create body is decoded once into its model: nulls only where the contract allows them, unknown and
/// server-owned fields dropped, and the stored body the model's encoding plus the server's fields.
@Suite struct RequestBodyTests {
    let minimal = #""model":{"provider":"openai","model":"m"},"voice":{}"#

    @Test func aNullIsRefusedOutsideTheNullableFieldsAndNamed() throws {
        let r = try Roles()
        let refused: [(String, String)] = [
            (#"{"name":null,\#(minimal)}"#, "Invalid value for field: name (must not be null)"),
            (#"{"model":{"provider":"openai","model":"m","temperature":null},"voice":{}}"#, "Invalid value for field: model.temperature (must not be null)"),
            (#"{"model":null,"voice":{}}"#, "Invalid value for field: model (must not be null)"),
            (#"{"endCallPhrases":["a",null],\#(minimal)}"#, "Invalid value for field: endCallPhrases[] (must not be null)"),
            (#"{"model":{"provider":"openai","model":"m","messages":[{"role":"system","content":"c","x":null}]},"voice":{}}"#, "Invalid value for field: model.messages[].x (must not be null)"),
            (#"{"unknown":{"deep":[{"x":null}]},\#(minimal)}"#, "Invalid value for field: unknown.deep[].x (must not be null)"),
        ]
        for (body, message) in refused {
            #expect(r.app.send("POST", "/api/assistants", json: body, token: r.admin).error == message, "\(body)")
        }
        let accepted = #"{"id":null,"orgId":{"x":null},"firstMessage":null,"metadata":{"a":null,"b":[null]},"transcriber":{"model":null},"unknown":1,\#(minimal)}"#
        let created = r.app.send("POST", "/api/assistants", json: accepted, token: r.admin)
        #expect(created.status == 201)
        #expect(created.json["unknown"] == nil && created.json["firstMessage"] == nil)
        #expect((created.json["metadata"] as? [String: Any])?["a"] is NSNull)
        #expect(r.app.send("POST", "/api/tools", json: #"{"type":"mcp","server":{"url":"https://x.edu","secret":null},"provider":null,"name":null}"#, token: r.admin).status == 201)
        #expect(r.app.send("POST", "/api/tools", json: #"{"type":"apiRequest","method":null,"url":"https://x.edu"}"#, token: r.admin).error == "Invalid value for field: method (must not be null)")
    }

    @Test func theStoredBodyIsTheModelWithTheServerFields() throws {
        let r = try Roles()
        let created = r.app.send("POST", "/api/assistants", json: assistantBody, token: r.admin)
        let config = try JSONDecoder().decode(AssistantConfig.self, from: Data(assistantBody.utf8))
        var fields = try #require(try JSONValue(encoding: config).objectValue)
        fields["id"] = .string(try #require(created.json["id"] as? String))
        fields["orgId"] = .string(try #require(created.json["orgId"] as? String))
        fields["createdAt"] = "2024-01-01T10:00:00.000Z"
        fields["updatedAt"] = "2024-01-01T10:00:00.000Z"
        fields["providerId"] = .null
        #expect(created.bodyString == String(decoding: try JSON.encode(JSONValue.object(fields)), as: UTF8.self))
    }

    @Test func anEmptyProviderLabelIsNoLabel() throws {
        let r = try Roles()
        let tool = r.app.send("POST", "/api/tools", json: #"{"type":"mcp","server":{"url":"https://x.edu"},"provider":""}"#, token: r.admin)
        #expect(tool.status == 201 && tool.json["provider"] == nil)
        let id = try #require(tool.json["id"] as? String)
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"provider":"crm"}"#, token: r.admin).json["provider"] as? String == "crm")
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"provider":""}"#, token: r.admin).json["provider"] == nil)
        #expect(r.app.send("PATCH", "/api/tools/\(id)", json: #"{"provider":5}"#, token: r.admin).error == "Invalid value for field: provider (a string)")
    }
}
