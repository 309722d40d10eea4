import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
@testable import EdmoAPI
import Foundation
import Testing

/// An end-of-call report as Vapi sends it (fields in several places, as real senders do).
func callReport(
    id: String, assistant: String? = nil, number: String? = nil, type: String = "inboundPhoneCall", createdAt: String,
    seconds: Int, endedReason: String = "customer-ended-call", success: String? = "true", sentiment: String? = nil,
    timestamp: Int? = nil, customer: String = "+17865550100"
) -> String {
    var call: [String: Any] = ["id": id, "type": type, "createdAt": createdAt, "customer": ["number": customer]]
    if let assistant { call["assistantId"] = assistant }
    if let number { call["phoneNumberId"] = number }
    var analysis: [String: Any] = ["summary": "Caller asked about \(id)."]
    if let success { analysis["successEvaluation"] = success }
    if let sentiment { analysis["structuredData"] = ["sentiment": sentiment] }
    let started = Timestamp.parse(createdAt)!
    let message: [String: Any] = [
        "type": "end-of-call-report", "call": call, "endedReason": endedReason, "analysis": analysis,
        "startedAt": createdAt, "endedAt": Timestamp.format(started.addingTimeInterval(Double(seconds))),
        "durationSeconds": seconds, "timestamp": timestamp ?? Int(started.timeIntervalSince1970 * 1000) + seconds * 1000,
        "artifact": [
            "transcript": "AI: Hello\nUser: Hi there", "messages": [
                ["role": "system", "message": "You are helpful"], ["role": "bot", "message": "Hello", "time": 1],
                ["role": "user", "message": "Hi there", "time": 2],
            ],
            "recording": ["stereoUrl": "https://rec.example/\(id)-stereo.wav", "mono": ["combinedUrl": "https://rec.example/\(id).wav"]],
        ],
    ]
    return String(decoding: try! JSONSerialization.data(withJSONObject: ["message": message]), as: UTF8.self)
}

struct AnalyticsSetup {
    let r: Roles
    let assistantA: String, assistantB: String, number: String
    static let secret = "whsec-test-0123456789abcdef0123456789"
    static let deploymentKey = "deployment-analytics-key-0123456789abcdef"

    init() throws {
        r = try Roles {
            $0.webhookSecret = Self.secret
            $0.analyticsAPIKey = Self.deploymentKey
        }
        assistantA = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.admin).json["id"] as? String)
        assistantB = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.admin).json["id"] as? String)
        let twilio = #"{"provider":"twilio","twilioPhoneNumber":"+17865550123","twilioAccountSid":"AC0123456789abcdef0123456789abcdef","twilioAuthToken":"tok"}"#
        number = try #require(r.app.send("POST", "/api/phone-numbers", json: twilio, token: r.admin).json["id"] as? String)
    }

    @discardableResult
    func report(_ json: String, secret: String = AnalyticsSetup.secret) -> Response {
        r.app.send("POST", "/api/webhooks/provider", json: json, headers: ["x-vapi-secret": secret])
    }

    func analytics(_ query: String = "", key: String = AnalyticsSetup.deploymentKey) -> Response {
        r.app.send("GET", "/api/analytics" + (query.isEmpty ? "" : "?" + query), headers: ["x-api-key": key])
    }
}

@Suite struct AnalyticsTests {
    /// t0 is 2024-01-01T10:00Z. Five calls and one web chat, over nine days.
    func fixture() throws -> AnalyticsSetup {
        let s = try AnalyticsSetup()
        s.report(callReport(id: "c1", assistant: s.assistantA, number: s.number, createdAt: "2024-01-01T09:00:00.000Z", seconds: 200, sentiment: "positive"))
        s.report(callReport(id: "c2", assistant: s.assistantA, number: s.number, createdAt: "2023-12-31T12:00:00.000Z", seconds: 100, endedReason: "assistant-forwarded-call", sentiment: "negative"))
        s.report(callReport(id: "c3", assistant: s.assistantB, createdAt: "2023-12-26T08:00:00.000Z", seconds: 61, endedReason: "customer-did-not-answer", success: nil, sentiment: "neutral"))
        s.report(callReport(id: "c4", assistant: s.assistantB, type: "webCall", createdAt: "2023-12-25T23:59:59.000Z", seconds: 30, success: "false", sentiment: "neutral"))
        s.report(callReport(id: "c5", assistant: s.assistantA, type: "webCall", createdAt: "2023-12-23T10:00:00.000Z", seconds: 500, sentiment: "positive"))
        return s
    }

    @Test func theSummaryOfAHandComputedFixture() throws {
        let s = try fixture()
        // 7 days = 2023-12-26 .. 2024-01-01: c1, c2, c3 (c4 is on the 25th, c5 on the 23rd).
        let week = s.analytics().json
        let summary = try #require(week["summary"] as? [String: Any])
        #expect(summary["totalConversations"] as? Int == 3)
        #expect(summary["successfulConversations"] as? Int == 1)
        #expect(summary["failedConversations"] as? Int == 1)
        #expect(summary["escalatedConversations"] as? Int == 1)
        #expect(summary["successRatePercent"] as? Int == 33)
        #expect(summary["escalationRatePercent"] as? Int == 33)
        #expect(summary["totalDurationSeconds"] as? Int == 361)
        #expect(summary["avgDurationSeconds"] as? Int == 120)
        #expect(summary["timeSavedHours"] as? Int == 0)
        #expect(summary["byChannel"] as? [String: Int] == ["web": 0, "phone": 3])
        #expect(summary["knowledgeGaps"] as? [String: Int] == ["totalGaps": 0, "highPriorityGaps": 0])
        #expect(summary["bySentiment"] as? [String: Int] == ["positive": 1, "neutral": 1, "negative": 1])
        let meta = try #require(week["meta"] as? [String: Any])
        #expect(meta["timeRangeDays"] as? Int == 7 && meta["channel"] as? String == "all" && meta["totalConversationsReturned"] as? Int == 3)
        #expect(meta["assistantId"] is NSNull)
        let conversations = try #require(week["conversations"] as? [[String: Any]])
        #expect(conversations.map { $0["id"] as? String } == ["c1", "c2", "c3"])
        let c1 = conversations[0]
        #expect(c1["timestampFormatted"] as? String == "Jan 1, 2024, 9:00 AM UTC")
        #expect(c1["durationFormatted"] as? String == "3m 20s")
        #expect(c1["channel"] as? String == "phone" && c1["sentiment"] as? String == "positive" && c1["resolution"] as? String == "resolved")
        #expect(c1["assistantId"] as? String == s.assistantA && c1["phoneNumberId"] as? String == s.number)
        #expect((c1["customer"] as? [String: String])?["number"] == "+17865550100")
        #expect((c1["analysis"] as? [String: String])?["successEvaluation"] == "true")
        #expect(conversations[2]["resolution"] as? String == "failed")

        // 30 days: all five; filters alone and combined.
        func total(_ q: String) -> Int? { (s.analytics(q).json["summary"] as? [String: Any])?["totalConversations"] as? Int }
        #expect(total("timeRangeDays=30") == 5)
        #expect(total("timeRangeDays=30&channel=web") == 2)
        #expect(total("timeRangeDays=30&sentiment=positive") == 2)
        #expect(total("timeRangeDays=30&resolution=failed") == 2)
        #expect(total("timeRangeDays=30&assistantId=\(s.assistantB)") == 2)
        #expect(total("timeRangeDays=30&phoneNumberId=\(s.number)") == 2)
        #expect(total("timeRangeDays=30&assistantId=\(s.assistantA)&channel=web&sentiment=positive") == 1)
        #expect(total("timeRangeDays=30&assistantId=\(s.assistantB)&phoneNumberId=\(s.number)") == 0)
        #expect(total("timeRangeDays=90&resolution=escalated&channel=web") == 0)
        let empty = s.analytics("timeRangeDays=7&channel=web&sentiment=positive").json["summary"] as? [String: Any]
        #expect(empty?["successRatePercent"] as? Int == 0 && empty?["avgDurationSeconds"] as? Int == 0)
        // Paging the list does not change the summary.
        let page = s.analytics("timeRangeDays=30&limit=2&offset=1").json
        #expect((page["conversations"] as? [[String: Any]])?.map { $0["id"] as? String } == ["c2", "c3"])
        #expect((page["summary"] as? [String: Any])?["totalConversations"] as? Int == 5)
    }

    @Test func theWindowEdgeIsTheFirstDayOfTheRange() throws {
        let s = try fixture()
        func total() -> Int? { (s.analytics().json["summary"] as? [String: Any])?["totalConversations"] as? Int }
        s.r.app.clock.advance(14 * 3600 - 1)  // 2024-01-01T23:59:59: the window still starts on 2023-12-26
        #expect(total() == 3)
        s.r.app.clock.advance(1)  // 2024-01-02T00:00:00: 2023-12-26 drops out with c3
        #expect(total() == 2)
    }

    @Test func theAggregatesEqualAFullRecountOnRandomData() throws {
        let s = try AnalyticsSetup()
        var rng = SystemRandomNumberGenerator()
        let assistants = [s.assistantA, s.assistantB, nil], numbers = [s.number, nil]
        let reasons = ["customer-ended-call", "assistant-forwarded-call", "silence-timed-out", "pipeline-error-openai-llm-failed"]
        for i in 0..<300 {
            let created = Timestamp.format(t0.addingTimeInterval(-Double(Int.random(in: 0..<(100 * 86_400), using: &rng))))
            s.report(callReport(
                id: "r\(i)", assistant: assistants.randomElement(using: &rng)!, number: numbers.randomElement(using: &rng)!,
                type: Bool.random(using: &rng) ? "webCall" : "outboundPhoneCall", createdAt: created,
                seconds: Int.random(in: 0...900, using: &rng), endedReason: reasons.randomElement(using: &rng)!,
                success: ["true", "false", nil].randomElement(using: &rng)!, sentiment: ["positive", "neutral", "negative", nil].randomElement(using: &rng)!))
        }
        // Some reports come again, some with newer content: the aggregates follow.
        for i in stride(from: 0, to: 300, by: 7) {
            s.report(callReport(id: "r\(i)", assistant: s.assistantA, createdAt: "2023-12-30T10:00:00.000Z", seconds: 42,
                                sentiment: "negative", timestamp: 1_800_000_000_000))
        }
        try check(s, trials: 200)
        try s.r.app.context.analytics.rebuildAggregates()
        try check(s, trials: 50)
    }

    func check(_ s: AnalyticsSetup, trials: Int) throws {
        let store = s.r.app.context.analytics
        let org = try s.r.app.context.accounts.user(email: "admin@example.edu")?.orgId
        for _ in 0..<trials {
            let filter = AnalyticsFilter(
                orgId: [nil, org].randomElement()!,
                fromDay: AnalyticsFormat.firstDay(of: [7, 30, 90, 120].randomElement()!, now: t0),
                channel: [nil, .web, .phone].randomElement()!, sentiment: [nil, .positive, .neutral, .negative].randomElement()!,
                resolution: [nil, .resolved, .escalated, .failed].randomElement()!,
                assistantId: [nil, s.assistantA, s.assistantB].randomElement()!, phoneNumberId: [nil, s.number].randomElement()!)
            #expect(try store.counts(filter) == store.recount(filter), "\(filter)")
        }
    }

    @Test func webhooksAreIdempotentOrderedAndAuthenticated() throws {
        let s = try AnalyticsSetup()
        let report = callReport(id: "w1", assistant: s.assistantA, createdAt: "2024-01-01T08:00:00.000Z", seconds: 60, timestamp: 1_704_096_060_000)
        #expect(s.report(report).json["stored"] as? Bool == true)
        #expect(s.report(report).json["stored"] as? Bool == false)  // sent twice: nothing changes
        let older = callReport(id: "w1", assistant: s.assistantA, createdAt: "2024-01-01T08:00:00.000Z", seconds: 999, timestamp: 1_704_096_000_000)
        #expect(s.report(older).json["stored"] as? Bool == false)  // out of order: the newer report stays
        let summary = s.analytics().json["summary"] as? [String: Any]
        #expect(summary?["totalConversations"] as? Int == 1 && summary?["totalDurationSeconds"] as? Int == 60)

        #expect(s.report(report, secret: "wrong").status == 401)
        #expect(s.r.app.send("POST", "/api/webhooks/provider", json: report).status == 401)
        #expect(s.r.app.send("POST", "/api/webhooks/provider", json: "{\"message\": ", headers: ["x-vapi-secret": AnalyticsSetup.secret]).status == 400)
        #expect(s.r.app.send("POST", "/api/webhooks/provider", json: #"{"nomessage":1}"#, headers: ["x-vapi-secret": AnalyticsSetup.secret]).status == 400)
        let other = s.report(#"{"message":{"type":"status-update","status":"ringing"}}"#)
        #expect(other.status == 200 && other.json["stored"] as? Bool == false)

        // HMAC-SHA256 of the body instead of the plain secret.
        let signedBody = callReport(id: "w2", assistant: s.assistantA, createdAt: "2024-01-01T08:30:00.000Z", seconds: 5)
        let signature = Tokens.hmacSHA256Hex(key: AnalyticsSetup.secret, message: Array(signedBody.utf8))
        #expect(s.r.app.send("POST", "/api/webhooks/provider", json: signedBody, headers: ["x-vapi-signature": "sha256=" + signature]).status == 200)
        #expect(s.r.app.send("POST", "/api/webhooks/provider", json: signedBody, headers: ["x-vapi-signature": String(repeating: "0", count: 64)]).status == 401)
    }

    @Test func aCallOfAnotherOrgsAssistantLandsInThatOrg() throws {
        let s = try AnalyticsSetup()
        let foreign = try #require(s.r.app.send("POST", "/api/assistants", json: assistantBody, token: s.r.otherAdmin).json["id"] as? String)
        s.report(callReport(id: "x1", assistant: foreign, createdAt: "2024-01-01T08:00:00.000Z", seconds: 10))
        let keyOfDefault = try #require(s.r.app.send("POST", "/api/analytics-keys", json: #"{"name":"BI"}"#, token: s.r.admin).json["key"] as? String)
        let keyOfOther = try #require(s.r.app.send("POST", "/api/analytics-keys", json: "{}", token: s.r.otherAdmin).json["key"] as? String)
        #expect((s.analytics(key: keyOfDefault).json["summary"] as? [String: Any])?["totalConversations"] as? Int == 0)
        #expect((s.analytics(key: keyOfOther).json["summary"] as? [String: Any])?["totalConversations"] as? Int == 1)
        #expect((s.analytics().json["summary"] as? [String: Any])?["totalConversations"] as? Int == 1)  // deployment key
        #expect(s.r.app.send("GET", "/api/analytics/x1", headers: ["x-api-key": keyOfDefault]).status == 404)
        #expect(s.r.app.send("GET", "/api/analytics/x1", headers: ["x-api-key": keyOfOther]).status == 200)
        #expect(s.analytics("assistantId=\(foreign)", key: keyOfDefault).status == 403)
    }

    @Test func apiKeysMissingWrongRevoked() throws {
        let s = try AnalyticsSetup()
        #expect(s.r.app.send("GET", "/api/analytics").status == 401)
        #expect(s.analytics(key: "nope").status == 401)
        let created = s.r.app.send("POST", "/api/analytics-keys", json: #"{"name":"Looker"}"#, token: s.r.admin)
        #expect(created.status == 201)
        let key = try #require(created.json["key"] as? String)
        let id = try #require(created.json["id"] as? String)
        #expect(s.analytics(key: key).status == 200)
        #expect(!s.r.app.send("GET", "/api/analytics-keys", token: s.r.admin).bodyString.contains(key))  // shown once
        #expect(s.r.app.send("POST", "/api/analytics-keys", json: "{}", token: s.r.editor).status == 403)
        #expect(s.r.app.send("DELETE", "/api/analytics-keys/\(id)", token: s.r.otherAdmin).status == 404)
        #expect(s.r.app.send("DELETE", "/api/analytics-keys/\(id)", token: s.r.admin).status == 200)
        #expect(s.analytics(key: key).status == 403)
        #expect(s.analytics("timeRangeDays=14").status == 400)
        #expect(s.analytics("channel=fax").status == 400)
        #expect(s.analytics("channel=&sentiment=").status == 400)  // present but empty is not one of the values
    }

    @Test func theDashboardReadsAnalyticsWithItsSessionCookie() throws {
        let s = try fixture()
        let viaCookie = s.r.app.send("GET", "/api/analytics?timeRangeDays=30", token: s.r.viewer)
        #expect(viaCookie.status == 200)
        #expect((viaCookie.json["summary"] as? [String: Any])?["totalConversations"] as? Int == 5)
        #expect((s.r.app.send("GET", "/api/analytics?timeRangeDays=30", token: s.r.otherAdmin).json["summary"] as? [String: Any])?["totalConversations"] as? Int == 0)
        #expect(s.r.app.send("GET", "/api/analytics/c1", token: s.r.viewer).status == 200)
        #expect(s.r.app.send("GET", "/api/analytics/c1", token: s.r.otherAdmin).status == 404)
        #expect(s.r.app.send("GET", "/api/analytics", token: "forged").status == 401)
    }

    @Test func conversationDetail() throws {
        let s = try fixture()
        let detail = s.r.app.send("GET", "/api/analytics/c1", headers: ["x-api-key": AnalyticsSetup.deploymentKey])
        #expect(detail.status == 200)
        let d = detail.json
        #expect(d["transcript"] as? String == "AI: Hello\nUser: Hi there")
        #expect((d["messages"] as? [[String: String]]) == [["role": "assistant", "message": "Hello"], ["role": "user", "message": "Hi there"]])
        #expect(d["recordingUrl"] as? String == "https://rec.example/c1.wav")
        #expect(d["stereoRecordingUrl"] as? String == "https://rec.example/c1-stereo.wav")
        #expect(d["startedAt"] as? String == "2024-01-01T09:00:00.000Z" && d["endedAt"] as? String == "2024-01-01T09:03:20.000Z")
        #expect(d["durationFormatted"] as? String == "3m 20s")
        #expect((d["assistant"] as? [String: String])?["id"] == s.assistantA)
        #expect(s.r.app.send("GET", "/api/analytics/nope", headers: ["x-api-key": AnalyticsSetup.deploymentKey]).status == 404)
        #expect(s.r.app.send("GET", "/api/analytics/bad%20id!", headers: ["x-api-key": AnalyticsSetup.deploymentKey]).status == 400)
    }

    @Test func endedChatsCountAndReopenedOnesLeave() throws {
        let s = try AnalyticsSetup()
        let chat = s.r.app.send("POST", "/api/chat", json: #"{"assistantId":"\#(s.assistantA)","message":"hello"}"#, token: s.r.editor)
        let chatId = try #require(chat.json["chatId"] as? String)
        func web() -> Int? { ((s.analytics().json["summary"] as? [String: Any])?["byChannel"] as? [String: Int])?["web"] }
        #expect(web() == 0)
        #expect(s.r.app.send("POST", "/api/chat/\(chatId)/end", token: s.r.editor).status == 200)
        #expect(web() == 1)
        _ = s.r.app.send("POST", "/api/chat", json: #"{"assistantId":"\#(s.assistantA)","message":"more","previousChatId":"\#(chatId)"}"#, token: s.r.editor)
        #expect(web() == 0)
    }

    @Test func formulas() {
        #expect(AnalyticsFormat.percent(1, of: 3) == 33 && AnalyticsFormat.percent(2, of: 3) == 67 && AnalyticsFormat.percent(1, of: 8) == 13)
        #expect(AnalyticsFormat.percent(0, of: 0) == 0)
        #expect(AnalyticsFormat.average(361, over: 3) == 120 && AnalyticsFormat.average(5, over: 2) == 3)
        #expect(AnalyticsFormat.duration(45) == "45s" && AnalyticsFormat.duration(200) == "3m 20s" && AnalyticsFormat.duration(3723) == "1h 2m 3s")
    }
}

@Suite struct GroupCommitTests {
    @Test func concurrentReportsAreAllStoredAndCountedOnce() throws {
        let s = try AnalyticsSetup()
        let group = DispatchGroup()
        for i in 0..<200 {
            DispatchQueue.global().async(group: group) {
                let body = callReport(id: "g\(i % 150)", assistant: s.assistantA, createdAt: "2024-01-01T08:00:00.000Z", seconds: 10)
                _ = s.report(body)
            }
        }
        group.wait()
        let filter = AnalyticsFilter(orgId: nil, fromDay: "2023-12-01")
        let counts = try s.r.app.context.analytics.counts(filter)
        #expect(counts.total == 150)
        #expect(counts == (try s.r.app.context.analytics.recount(filter)))
    }
}
