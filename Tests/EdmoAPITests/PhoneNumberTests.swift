import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoSQLite
import EdmoAPI
import Foundation
import GRDB
import Testing

@Suite struct PhoneNumberTests {
    let twilio = #"{"provider":"twilio","name":"Front desk","twilioPhoneNumber":"+17865550123","twilioAccountSid":"AC0123456789abcdef0123456789abcdef","twilioAuthToken":"tw-auth-token-9f8e7d"}"#

    @Test func importAListAttachDetachRelease() throws {
        let r = try Roles()
        let assistant = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor).json["id"] as? String)
        let created = r.app.send("POST", "/api/phone-numbers", json: twilio, token: r.editor)
        #expect(created.status == 201)
        #expect(created.json["number"] as? String == "+17865550123")
        #expect(created.json["provider"] as? String == "twilio")
        #expect(created.json["assistantId"] is NSNull)
        let id = try #require(created.json["id"] as? String)

        let attached = r.app.send("PATCH", "/api/phone-numbers/\(id)", json: #"{"assistantId":"\#(assistant)","name":"Admissions"}"#, token: r.editor)
        #expect(attached.json["assistantId"] as? String == assistant)
        #expect(attached.json["name"] as? String == "Admissions")
        let list = r.app.send("GET", "/api/phone-numbers", token: r.viewer)
        #expect(list.header("X-Total-Count") == "1")
        #expect(list.jsonArray.first?["assistantId"] as? String == assistant)

        // Deleting the assistant detaches the number.
        #expect(r.app.send("DELETE", "/api/assistants/\(assistant)", token: r.editor).status == 200)
        #expect(r.app.send("GET", "/api/phone-numbers/\(id)", token: r.viewer).json["assistantId"] is NSNull)

        #expect(r.app.send("PATCH", "/api/phone-numbers/\(id)", json: #"{"assistantId":null}"#, token: r.editor).status == 200)
        #expect(r.app.send("DELETE", "/api/phone-numbers/\(id)", token: r.editor).json["success"] as? Bool == true)
        #expect(r.app.send("GET", "/api/phone-numbers/\(id)", token: r.editor).status == 404)
    }

    @Test func credentialsAreSealedAndNeverReturned() throws {
        let r = try Roles()
        let created = r.app.send("POST", "/api/phone-numbers", json: twilio, token: r.editor)
        let vonage = r.app.send("POST", "/api/phone-numbers", json: #"{"provider":"vonage","vonagePhoneNumber":"+442071838750","vonageApiKey":"vk-123","vonageApiSecret":"vonage-secret-xyz"}"#, token: r.editor)
        #expect(vonage.status == 201)
        for response in [created, vonage, r.app.send("GET", "/api/phone-numbers", token: r.editor)] {
            for secret in ["tw-auth-token-9f8e7d", "AC0123456789abcdef", "vonage-secret-xyz", "vk-123"] {
                #expect(!response.bodyString.contains(secret))
            }
        }
        let stored = try r.app.database.pool.read { db in try Data.fetchAll(db, sql: "SELECT credentials FROM phone_numbers") }
        #expect(stored.count == 2)
        for blob in stored {
            #expect(!String(decoding: blob, as: UTF8.self).contains("tw-auth-token"))
            let plain = try #require(r.app.context.secrets?.open(Array(blob)))
            #expect(String(decoding: plain, as: UTF8.self).contains("Token") || String(decoding: plain, as: UTF8.self).contains("vonage"))
        }
        for line in r.app.logLines.all { #expect(!line.contains("tw-auth-token")) }
    }

    @Test func edmoNumbersNeedAVoicePlatform() throws {
        let r = try Roles()
        let response = r.app.send("POST", "/api/phone-numbers", json: #"{"provider":"edmo","numberDesiredAreaCode":"786"}"#, token: r.admin)
        #expect(response.status == 400)
        #expect(response.error?.contains("EDMO_PROVIDER=vapi") == true)
    }

    @Test func invalidNumbersAre400DuplicatesAre409() throws {
        let r = try Roles()
        let cases: [(String, String)] = [
            (#"{"provider":"twilio","twilioPhoneNumber":"7865550123","twilioAccountSid":"AC0123456789abcdef0123456789abcdef","twilioAuthToken":"t"}"#, "twilioPhoneNumber"),
            (#"{"provider":"twilio","twilioPhoneNumber":"+17865550123","twilioAccountSid":"XX0123","twilioAuthToken":"t"}"#, "twilioAccountSid"),
            (#"{"provider":"twilio","twilioPhoneNumber":"+17865550123","twilioAccountSid":"AC0123456789abcdef0123456789abcdef"}"#, "twilioAuthToken"),
            (#"{"provider":"vonage","vonagePhoneNumber":"+4420","vonageApiKey":"k","vonageApiSecret":"s"}"#, "vonagePhoneNumber"),
            (#"{"provider":"sprint"}"#, "provider"),
            (#"{"twilioPhoneNumber":"+17865550123"}"#, "provider"),
        ]
        for (body, field) in cases {
            let response = r.app.send("POST", "/api/phone-numbers", json: body, token: r.admin)
            #expect(response.status == 400, "\(body)")
            #expect(response.error?.contains(field) == true, "\(body): \(response.error ?? "")")
        }
        #expect(r.app.send("POST", "/api/phone-numbers", json: twilio, token: r.admin).status == 201)
        #expect(r.app.send("POST", "/api/phone-numbers", json: twilio, token: r.otherAdmin).status == 409)
    }

    @Test func assistantsOfAnotherOrgCannotBeAttached() throws {
        let r = try Roles()
        let foreign = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.otherAdmin).json["id"] as? String)
        let body = twilio.replacingOccurrences(of: #""provider":"twilio","#, with: #""provider":"twilio","assistantId":"\#(foreign)","#)
        let response = r.app.send("POST", "/api/phone-numbers", json: body, token: r.admin)
        #expect(response.status == 400)
        #expect(response.error == "Invalid value for field: assistantId (no such assistant)")
        let id = try #require(r.app.send("POST", "/api/phone-numbers", json: twilio, token: r.admin).json["id"] as? String)
        #expect(r.app.send("PATCH", "/api/phone-numbers/\(id)", json: #"{"assistantId":"\#(foreign)"}"#, token: r.admin).status == 400)
        #expect(r.app.send("GET", "/api/phone-numbers/\(id)", token: r.otherAdmin).status == 404)
        #expect(r.app.send("DELETE", "/api/phone-numbers/\(id)", token: r.otherAdmin).status == 404)
        #expect(r.app.send("POST", "/api/phone-numbers", json: twilio, token: r.viewer).status == 403)
    }
}
