import EdmoCore
import EdmoService
import EdmoStore
@testable import EdmoAPI
import Foundation
import Testing

/// The settings and erasure endpoints, the sweep over calls made through the webhook, and the ingestion of
/// reports for expired or erased calls (SQLite, in process); the sweep's claim on every store.
@Suite struct RetentionTests {
    func settings(_ r: Roles, as token: String?) -> Response { r.app.send("GET", "/api/organization/settings", token: token) }
    func patch(_ r: Roles, _ json: String, as token: String?) -> Response {
        r.app.send("PATCH", "/api/organization/settings", json: json, token: token)
    }

    func values(_ response: Response) -> [Int?] {
        ["retentionDays", "effectiveRetentionDays", "defaultRetentionDays"].map { response.json[$0] as? Int }
    }

    @Test func anyoneReadsTheSettingsAndAdminsChangeThemWithinTheRange() throws {
        let r = try Roles()
        let fresh = settings(r, as: r.viewer)
        #expect(fresh.status == 200)
        #expect(fresh.json.keys.sorted() == ["defaultRetentionDays", "effectiveRetentionDays", "retentionDays"])
        #expect(values(fresh) == [nil, nil, nil])
        #expect(settings(r, as: nil).status == 401)
        #expect(patch(r, #"{"retentionDays":30}"#, as: r.editor).status == 403)
        #expect(patch(r, #"{"retentionDays":30}"#, as: r.viewer).status == 403)
        #expect(patch(r, #"{"retentionDays":30}"#, as: nil).status == 401)

        let changed = patch(r, #"{"retentionDays":30}"#, as: r.admin)
        #expect(changed.status == 200 && values(changed) == [30, 30, nil])
        #expect(values(settings(r, as: r.editor)) == [30, 30, nil])
        for (body, message) in [
            (#"{"retentionDays":36501}"#, "Invalid value for field: retentionDays"), (#"{"retentionDays":-1}"#, "Invalid value for field: retentionDays"),
            (#"{"retentionDays":"30"}"#, "Invalid value for field: retentionDays"), (#"{"retentionDays":1.5}"#, "Invalid value for field: retentionDays"),
            (#"{"retentionDays":true}"#, "Invalid value for field: retentionDays"), ("{}", "Nothing to update"),
            (#"{"retentionDays":30,"keepDays":5}"#, "Unknown field: keepDays"), ("[30]", "must be a JSON object"),
        ] {
            let refused = patch(r, body, as: r.admin)
            #expect(refused.status == 400, "\(body)")
            #expect(refused.error?.contains(message) == true, "\(body): \(refused.error ?? "")")
        }
        #expect(values(settings(r, as: r.admin)) == [30, 30, nil])
        // Another organisation's settings are its own.
        #expect(values(settings(r, as: r.otherAdmin)) == [nil, nil, nil])
        #expect(values(patch(r, #"{"retentionDays":null}"#, as: r.admin)) == [nil, nil, nil])
    }

    @Test func theDeploymentDefaultAppliesUntilAnOrganizationSetsItsOwnOrZeroForForever() throws {
        let r = try Roles { $0.retentionDays = 90 }
        #expect(values(settings(r, as: r.viewer)) == [nil, 90, 90])
        #expect(values(patch(r, #"{"retentionDays":0}"#, as: r.admin)) == [0, nil, 90])
        #expect(values(patch(r, #"{"retentionDays":7}"#, as: r.admin)) == [7, 7, 90])
        #expect(values(settings(r, as: r.otherAdmin)) == [nil, 90, 90])
    }

    @Test func theConfigurationTakesZeroOrAPeriod() throws {
        let base = ["EDMO_DATABASE": "/tmp/x.sqlite", "EDMO_SECRET_KEY": String(repeating: "ab", count: 32)]
        #expect(try Config.fromEnvironment(base).retentionDays == nil)
        #expect(try Config.fromEnvironment(base.merging(["EDMO_RETENTION_DAYS": "0"]) { $1 }).retentionDays == nil)
        #expect(try Config.fromEnvironment(base.merging(["EDMO_RETENTION_DAYS": "365"]) { $1 }).retentionDays == 365)
        for bad in ["-1", "36501", "a year"] {
            #expect(throws: ConfigError.self) { try Config.fromEnvironment(base.merging(["EDMO_RETENTION_DAYS": bad]) { $1 }) }
        }
    }

    /// t0 is 2024-01-01T10:00Z; the calls of `AnalyticsTests.fixture` start from 2023-12-23.
    @Test func theSweepRemovesOldCallsAndTheAnalyticsStayTheSame() throws {
        let s = try AnalyticsTests().fixture()
        let before = try #require(s.analytics("timeRangeDays=90").json["summary"] as? NSDictionary)
        #expect(before["totalConversations"] as? Int == 5)
        #expect(patch(s.r, #"{"retentionDays":2}"#, as: s.r.admin).status == 200)

        let report = try Retention.sweep(s.r.app.context)
        // Before 2023-12-30T10:00Z: c3, c4 and c5, each with its two messages.
        #expect(report.removed == RemovedCounts(conversations: 3, messages: 6))
        #expect(report.organizations.map(\.days) == [2])
        let after = s.analytics("timeRangeDays=90").json
        #expect((after["summary"] as? NSDictionary) == before)
        #expect((after["conversations"] as? [[String: Any]])?.map { $0["id"] as? String } == ["c1", "c2"])
        for id in ["c3", "c4", "c5"] {
            #expect(s.r.app.send("GET", "/api/analytics/\(id)", headers: ["x-api-key": AnalyticsSetup.deploymentKey]).status == 404)
        }
        // A resent report of a removed call, or a first one older than the period, is not stored.
        let resent = s.report(callReport(id: "c5", assistant: s.assistantA, type: "webCall", createdAt: "2023-12-23T10:00:00.000Z", seconds: 500))
        #expect(resent.status == 200 && resent.json["stored"] as? Bool == false)
        #expect(s.report(callReport(id: "c9", assistant: s.assistantA, createdAt: "2023-12-29T10:00:00.000Z", seconds: 5)).json["stored"] as? Bool == false)
        #expect((s.analytics("timeRangeDays=90").json["summary"] as? NSDictionary) == before)
        #expect(s.report(callReport(id: "c10", assistant: s.assistantA, createdAt: "2023-12-31T10:00:00.000Z", seconds: 5)).json["stored"] as? Bool == true)
        #expect(try Retention.sweep(s.r.app.context).removed == RemovedCounts())
    }

    func erase(_ r: Roles, _ json: String, as token: String?) -> Response {
        r.app.send("POST", "/api/erasures", json: json, token: token)
    }

    @Test func anAdminErasesACallersCallsAndAChatAndTheyStayErased() throws {
        let s = try AnalyticsTests().fixture()
        let r = s.r
        s.report(callReport(id: "c6", assistant: s.assistantA, createdAt: "2024-01-01T08:00:00.000Z", seconds: 20, customer: "+17865550999"))
        let before = try #require(s.analytics("timeRangeDays=90").json["summary"] as? NSDictionary)
        let key = ["x-api-key": AnalyticsSetup.deploymentKey]

        #expect(erase(r, #"{"phoneNumber":"+17865550100"}"#, as: r.editor).status == 403)
        #expect(erase(r, #"{"phoneNumber":"+17865550100"}"#, as: r.viewer).status == 403)
        #expect(erase(r, #"{"phoneNumber":"+17865550100"}"#, as: nil).status == 401)
        for (body, message) in [
            ("{}", "Missing required field: phoneNumber or chatId"), (#"{"phoneNumber":"+1","chatId":"x"}"#, "not both"),
            (#"{"phone":"+17865550100"}"#, "Unknown field: phone"), (#"{"phoneNumber":"  "}"#, "Invalid value for field: phoneNumber"),
            (#"{"phoneNumber":17865550100}"#, "Invalid value for field: phoneNumber"), (#"{"chatId":null}"#, "Invalid value for field: chatId"),
        ] {
            let refused = erase(r, body, as: r.admin)
            #expect(refused.status == 400, "\(body)")
            #expect(refused.error?.contains(message) == true, "\(body): \(refused.error ?? "")")
        }
        // Another organisation's admin erases nothing here.
        #expect(erase(r, #"{"phoneNumber":"+17865550100"}"#, as: r.otherAdmin).json["erased"] as? NSDictionary
            == ["conversations": 0, "messages": 0] as NSDictionary)

        let erased = erase(r, #"{"phoneNumber":"+17865550100"}"#, as: r.admin)
        #expect(erased.status == 200)
        #expect(erased.json["erased"] as? NSDictionary == ["conversations": 5, "messages": 10] as NSDictionary)
        #expect((s.analytics("timeRangeDays=90").json["summary"] as? NSDictionary) == before)
        #expect(s.r.app.send("GET", "/api/analytics/c1", headers: key).status == 404)
        #expect(s.r.app.send("GET", "/api/analytics/c6", headers: key).status == 200)
        // A late report of an erased call brings nothing back.
        let late = s.report(callReport(id: "c1", assistant: s.assistantA, createdAt: "2024-01-01T09:00:00.000Z", seconds: 200, timestamp: 1_900_000_000_000))
        #expect(late.status == 200 && late.json["stored"] as? Bool == false)
        #expect(s.r.app.send("GET", "/api/analytics/c1", headers: key).status == 404)
        #expect((s.analytics("timeRangeDays=90").json["summary"] as? NSDictionary) == before)
        #expect(erase(r, #"{"phoneNumber":"+17865550100"}"#, as: r.admin).json["erased"] as? NSDictionary
            == ["conversations": 0, "messages": 0] as NSDictionary)

        // A chat, by its id: gone, and cannot be continued.
        let chat = r.app.send("POST", "/api/chat", json: #"{"assistantId":"\#(s.assistantA)","message":"Where is the library?"}"#, token: r.admin)
        let chatId = try #require(chat.json["chatId"] as? String)
        #expect(erase(r, #"{"chatId":"\#(chatId)"}"#, as: r.otherAdmin).json["erased"] as? NSDictionary
            == ["conversations": 0, "messages": 0] as NSDictionary)
        let byChat = erase(r, #"{"chatId":"\#(chatId)"}"#, as: r.admin).json["erased"] as? [String: Int]
        #expect(byChat?["conversations"] == 1 && (byChat?["messages"] ?? 0) >= 2)
        #expect(r.app.send("GET", "/api/chat/\(chatId)", token: r.admin).status == 404)
        let again = r.app.send(
            "POST", "/api/chat", json: #"{"assistantId":"\#(s.assistantA)","message":"Hello","previousChatId":"\#(chatId)"}"#, token: r.admin)
        #expect(again.status == 404)
        #expect(r.app.logLines.all.contains { $0.contains("erasure by phoneNumber") && !$0.contains("+1786") })
    }

    @Test(arguments: StoreKind.tested)
    func oneHostSweepsPerIntervalAndOrganizationsFollowTheirOwnPeriod(_ kind: StoreKind) throws {
        let db = try ChatContractDatabase(kind)
        try db.organization("org_a", assistants: ["asst_a"])
        try db.organization("org_b", assistants: ["asst_b"])
        try db.organization("org_c", assistants: ["asst_c"])
        for (org, assistant) in [("org_a", "asst_a"), ("org_b", "asst_b"), ("org_c", "asst_c")] {
            for day in 0..<4 {
                _ = try db.analytics.upsertCall(
                    db.call("\(org)_\(day)", org: org, assistant: assistant, second: day * 86_400), messages: [chatMessage(.user, "Hi")])
            }
        }
        try db.stores.accounts.updateSettings(orgId: "org_a", OrganizationSettings(retentionDays: 2))
        try db.stores.accounts.updateSettings(orgId: "org_b", OrganizationSettings(retentionDays: 0))
        let clock = TestClock(t0.addingTimeInterval(4 * 86_400 + 60))
        var config = Config(database: "", secretKey: [])
        config.retentionDays = 3
        let context = AppContext(config: config, stores: db.stores, clock: clock.clock, passwords: .fastForTests(), log: .silent)
        let before = try db.countsEqualToRecount()

        Retention.runClaimed(context)
        // Now is day 4 + 60 s. org_a keeps 2 days (days 0-2 go), org_b forever, org_c the default 3 (days 0-1 go).
        #expect(try db.rows("conversations") == 12 - 3 - 2)
        #expect(try db.chats.conversation(orgId: "org_a", id: "org_a_3") != nil)
        #expect(try db.chats.conversation(orgId: "org_b", id: "org_b_0") != nil)
        #expect(try db.chats.conversation(orgId: "org_c", id: "org_c_1") == nil)
        #expect(try db.chats.conversation(orgId: "org_c", id: "org_c_2") != nil)
        #expect(try db.countsEqualToRecount() == before)

        // Within the interval another turn does nothing, even with more to remove; after it, it sweeps.
        clock.advance(60)
        try db.stores.accounts.updateSettings(orgId: "org_b", OrganizationSettings(retentionDays: 2))
        Retention.runClaimed(context)
        #expect(try db.chats.conversation(orgId: "org_b", id: "org_b_0") != nil)
        clock.advance(Retention.sweepInterval)
        Retention.runClaimed(context)
        #expect(try db.chats.conversation(orgId: "org_b", id: "org_b_0") == nil)
        #expect(try db.chats.conversation(orgId: "org_b", id: "org_b_3") != nil)
        #expect(try db.countsEqualToRecount() == before)
    }
}
