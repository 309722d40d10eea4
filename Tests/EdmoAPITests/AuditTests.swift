import EdmoCore
import EdmoService
import EdmoStore
import EdmoAPI
import Foundation
import Testing

/// The audit log through the router (SQLite; the store itself is checked on both in StoreContractAuditTests
/// and end to end in tests/e2e/test_audit.py): what is recorded, what never is, who may read it.
@Suite struct AuditTests {
    let toolWithSecret = #"""
    {"type":"function","function":{"name":"lookup","description":"Find a student","parameters":{"type":"object","properties":{}}},
     "server":{"url":"https://crm.example.edu/hook","secret":"s3cret-value-9f1"},
     "metadata":{"vendorApiKey":"hdr-token-77","team":"crm"}}
    """#

    /// The organisation's entries, newest first, as JSON.
    func log(_ r: Roles, _ query: String = "", token: String? = nil) -> [[String: Any]] {
        let response = r.app.send("GET", "/api/audit-log" + query, token: token ?? r.admin)
        #expect(response.status == 200, "\(response.bodyString)")
        return response.jsonArray
    }

    func changes(_ entry: [String: Any]?) -> [String: [String: Any]] {
        (entry?["changes"] as? [String: [String: Any]]) ?? [:]
    }

    @Test func loginsAndFailedLoginsAreRecordedWithoutThePassword() throws {
        let r = try Roles()
        let failed = r.app.send("POST", "/api/auth/login", json: #"{"email":"editor@example.edu","password":"not-the-password-42"}"#, address: "192.0.2.9")
        #expect(failed.status == 401)
        let entries = log(r)
        let failure = try #require(entries.first { $0["action"] as? String == "auth.login_failed" })
        #expect(failure["actorLabel"] as? String == "editor@example.edu")
        #expect(failure["address"] as? String == "192.0.2.9")
        #expect(failure["targetType"] as? String == "user")
        // One login per user of this organisation (the other organisation's admin is not shown).
        let logins = entries.filter { $0["action"] as? String == "auth.login" }
        #expect(Set(logins.compactMap { $0["actorLabel"] as? String }) == ["admin@example.edu", "editor@example.edu", "viewer@example.edu"])
        #expect(logins.allSatisfy { $0["actorKind"] as? String == "user" && $0["address"] as? String == "10.0.0.1" })
        let all = r.app.send("GET", "/api/audit-log", token: r.admin).bodyString
        #expect(!all.contains("not-the-password-42") && !all.contains("password-123"))
        #expect(!all.contains("admin@other.edu"))
        // Logging out a live session is recorded; a missing session changes nothing and is not.
        #expect(r.app.send("POST", "/api/auth/logout", token: r.viewer).status == 200)
        #expect(r.app.send("POST", "/api/auth/logout", token: r.viewer).status == 200)
        #expect(log(r, "?action=auth.logout").count == 1)
    }

    @Test func fieldChangesAreRecordedAndSecretsNever() throws {
        let r = try Roles()
        let created = r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor)
        let id = try #require(created.json["id"] as? String)
        #expect(r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"name":"Renamed","model":{"temperature":0.2}}"#, token: r.editor).status == 200)
        // A patch that changes nothing, and a refused one, record nothing.
        #expect(r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"name":"Renamed"}"#, token: r.editor).status == 200)
        #expect(r.app.send("PATCH", "/api/assistants/\(id)", json: #"{"maxDurationSeconds":-5}"#, token: r.editor).status == 400)
        let updates = log(r, "?targetId=\(id)&action=assistant.update")
        #expect(updates.count == 1)
        let update = changes(updates.first)
        #expect(update["name"]?["old"] as? String == "Enrollment Assistant" && update["name"]?["new"] as? String == "Renamed")
        #expect(update["model.temperature"]?["old"] as? Double == 0.7 && update["model.temperature"]?["new"] as? Double == 0.2)
        #expect(update.count == 2)
        #expect(updates.first?["actorLabel"] as? String == "editor@example.edu")
        #expect(log(r, "?action=assistant.*").map { $0["action"] as? String } == ["assistant.update", "assistant.create"])

        let tool = r.app.send("POST", "/api/tools", json: toolWithSecret, token: r.editor)
        let toolId = try #require(tool.json["id"] as? String)
        #expect(r.app.send("PATCH", "/api/tools/\(toolId)", json: #"{"server":{"secret":"n3w-secret-55"}}"#, token: r.editor).status == 200)
        let toolEntries = log(r, "?targetType=tool")
        #expect(toolEntries.map { $0["action"] as? String } == ["tool.update", "tool.create"])
        let secretChange = changes(toolEntries[0])
        #expect(Array(secretChange.keys) == ["server.secret"])
        #expect(secretChange["server.secret"]?["old"] as? String == "[redacted]" && secretChange["server.secret"]?["new"] as? String == "[redacted]")
        #expect(changes(toolEntries[1])["metadata.vendorApiKey"]?["new"] as? String == "[redacted]")
        #expect(changes(toolEntries[1])["server.secret"]?["new"] as? String == "[redacted]")
        #expect(r.app.send("DELETE", "/api/assistants/\(id)", token: r.editor).status == 200)
        #expect(changes(log(r, "?action=assistant.delete").first)["name"]?["old"] as? String == "Renamed")

        let csv = r.app.send("GET", "/api/audit-log.csv", token: r.admin).serialized()
        let text = log(r).description + String(decoding: csv, as: UTF8.self)
        for secret in ["s3cret-value-9f1", "n3w-secret-55", "hdr-token-77"] { #expect(!text.contains(secret)) }
    }

    @Test func usersKeysAndKnowledgeAreRecorded() throws {
        let r = try Roles()
        let user = r.app.send("POST", "/api/users", json: #"{"email":"new@example.edu","password":"first-password-1","role":"VIEWER"}"#, token: r.admin)
        let userId = try #require(user.json["id"] as? String)
        #expect(r.app.send("PATCH", "/api/users/\(userId)", json: #"{"role":"EDITOR","password":"second-password-2"}"#, token: r.admin).status == 200)
        let userChange = changes(log(r, "?action=user.update").first)
        #expect(userChange["role"]?["old"] as? String == "VIEWER" && userChange["role"]?["new"] as? String == "EDITOR")
        #expect(userChange["password"]?["new"] as? String == "[redacted]")
        #expect(r.app.send("DELETE", "/api/users/\(userId)", token: r.admin).status == 200)
        #expect(changes(log(r, "?action=user.delete").first)["email"]?["old"] as? String == "new@example.edu")

        let key = r.app.send("POST", "/api/analytics-keys", json: #"{"name":"Looker"}"#, token: r.admin)
        let secret = try #require(key.json["key"] as? String), keyId = try #require(key.json["id"] as? String)
        #expect(r.app.send("DELETE", "/api/analytics-keys/\(keyId)", token: r.admin).status == 200)
        #expect(r.app.send("DELETE", "/api/analytics-keys/\(keyId)", token: r.admin).status == 200)  // already revoked
        #expect(log(r, "?targetType=analytics_key").map { $0["action"] as? String } == ["analytics_key.revoke", "analytics_key.create"])

        let assistant = try #require(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.editor).json["id"] as? String)
        let imported = r.app.send("POST", "/api/assistants/\(assistant)/knowledge/import",
                                  json: #"{"entries":[{"title":"A","content":"a"},{"title":"B","content":"b"}]}"#, token: r.editor)
        #expect(imported.status == 201)
        let importEntry = log(r, "?action=knowledge.import").first
        #expect(changes(importEntry)["count"]?["new"] as? Int == 2 && importEntry?["targetId"] as? String == assistant)

        let all = r.app.send("GET", "/api/audit-log?limit=1000", token: r.admin).bodyString
        for value in [secret, "first-password-1", "second-password-2"] { #expect(!all.contains(value)) }
    }

    @Test func onlyAdminsReadTheirOwnOrganisationsLogAndNobodyChangesIt() throws {
        let r = try Roles()
        #expect(r.app.send("GET", "/api/audit-log").status == 401)
        #expect(r.app.send("GET", "/api/audit-log", token: r.editor).status == 403)
        #expect(r.app.send("GET", "/api/audit-log.csv", token: r.viewer).status == 403)
        for method in ["POST", "PATCH", "PUT", "DELETE"] {
            let response = r.app.send(method, "/api/audit-log", json: method == "DELETE" ? nil : "{}", token: r.admin)
            #expect(response.status == 405, "\(method)")
            #expect(response.header("Allow") == "GET")
        }
        #expect(r.app.send("POST", "/api/assistants", json: assistantBody, token: r.admin).status == 201)
        let mine = log(r), theirs = r.app.send("GET", "/api/audit-log", token: r.otherAdmin).jsonArray
        #expect(mine.contains { $0["action"] as? String == "assistant.create" })
        #expect(theirs.map { $0["actorLabel"] as? String } == ["admin@other.edu"])
        #expect(r.app.send("GET", "/api/audit-log?from=yesterday", token: r.admin).status == 400)
        #expect(r.app.send("GET", "/api/audit-log?to=2024-02-30", token: r.admin).status == 400)
        #expect(r.app.send("GET", "/api/audit-log?limit=0", token: r.admin).status == 400)
    }

    @Test func pagingAndTheCSVShowTheSameEntriesNewestFirst() throws {
        let r = try Roles()
        for i in 0..<7 {
            r.app.clock.advance(1)
            #expect(r.app.send("POST", "/api/analytics-keys", json: #"{"name":"k\#(i), \"quoted\""}"#, token: r.admin).status == 201)
        }
        let all = log(r, "?action=analytics_key.create")
        #expect(all.count == 7 && r.app.send("GET", "/api/audit-log?action=analytics_key.create", token: r.admin).header("X-Total-Count") == "7")
        let page = r.app.send("GET", "/api/audit-log?action=analytics_key.create&limit=3&offset=3", token: r.admin)
        #expect(page.jsonArray.map { $0["id"] as? String } == all[3..<6].map { $0["id"] as? String })
        #expect(page.header("X-Total-Count") == "7")
        let day = Timestamp.format(t0).prefix(10)
        #expect(log(r, "?from=\(day)&to=\(day)").count == log(r).count)
        #expect(log(r, "?to=\(Timestamp.format(t0.addingTimeInterval(2)))&action=analytics_key.create").count == 2)

        let csv = r.app.send("GET", "/api/audit-log.csv?action=analytics_key.create", token: r.admin)
        #expect(csv.status == 200 && csv.header("Content-Type") == "text/csv; charset=utf-8")
        let lines = String(decoding: csv.serialized(), as: UTF8.self).components(separatedBy: "\r\n\r\n").last!
            .components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.first == "id,at,actorKind,actorId,actorLabel,address,action,targetType,targetId,changes")
        #expect(lines.dropFirst().map { String($0.prefix(while: { $0 != "," })) } == all.map { $0["id"] as? String ?? "" })
    }

    @Test func retentionRemovesOnlyEntriesOlderThanItsDays() throws {
        let r = try Roles { $0.auditRetentionDays = 30 }
        #expect(log(r).count == 3)  // the three logins of Roles
        r.app.clock.advance(20 * 86_400)
        // The sessions of t0 have expired: a new login (an entry too) reads and writes.
        var admin = try r.app.login("admin@example.edu")
        #expect(r.app.send("POST", "/api/assistants", json: assistantBody, token: admin).status == 201)
        AuditTrail.prune(r.app.context)
        #expect(log(r, token: admin).count == 5)
        r.app.clock.advance(11 * 86_400)
        admin = try r.app.login("admin@example.edu")
        AuditTrail.prune(r.app.context)
        #expect(log(r, token: admin).map { $0["action"] as? String } == ["auth.login", "assistant.create", "auth.login"])

        let keep = try Roles { $0.auditRetentionDays = 0 }
        keep.app.clock.advance(3650 * 86_400)
        AuditTrail.prune(keep.app.context)
        #expect(log(keep, token: try keep.app.login("admin@example.edu")).count == 4)
    }

    @Test func retentionDaysComeFromTheEnvironment() throws {
        func days(_ value: String?) throws -> Int {
            var env = ["EDMO_DATABASE": "/tmp/unused.sqlite"]
            env["EDMO_AUDIT_RETENTION_DAYS"] = value
            return try Config.fromEnvironment(env, needsSecretKey: false).auditRetentionDays
        }
        #expect(try days(nil) == 365)
        #expect(try days("0") == 0)
        #expect(try days("30") == 30)
        for bad in ["-1", "forever", "36501"] {
            #expect(throws: ConfigError.self, "\(bad)") { try days(bad) }
        }
    }

    /// An audit store whose appends fail, for the request whose change is saved and whose entry is not.
    struct FailingAudit: AuditStore {
        let error: any Error & Sendable
        func append(_ entry: AuditEntry) throws { throw error }
        func entries(_ filter: AuditFilter, limit: Int, offset: Int) throws -> (items: [AuditEntry], total: Int) { ([], 0) }
        func entries(_ filter: AuditFilter, after cursor: AuditCursor?, limit: Int) throws -> [AuditEntry] { [] }
        func prune(before cutoff: Date, limit: Int) throws -> Int { 0 }
    }

    @Test func aChangeWhoseEntryCannotBeWrittenIsNeverAnsweredAsDone() throws {
        let r = try Roles()
        var context = r.app.context
        func update(_ days: Int) -> Response {
            r.app.router.handle(
                Request(method: "PATCH", path: "/api/organization/settings",
                        headers: ["content-type": "application/json", "cookie": "auth-token=\(r.admin)"],
                        body: Array(#"{"retentionDays": \#(days)}"#.utf8), remoteAddress: "10.0.0.1", requestId: "audit-failure"),
                context)
        }
        // Settings are recorded by an append after the change (its own transaction).
        context.audit = FailingAudit(error: StoreError.storageFull)
        let full = update(30)
        // Not "done", and not "nothing was saved" either: the setting changed.
        #expect(full.status == 507)
        #expect(full.error?.contains("what this request changed was saved, but the audit log could not record it") == true)
        #expect(r.app.send("GET", "/api/organization/settings", token: r.admin).json["retentionDays"] as? Int == 30)
        context.audit = FailingAudit(error: StoreError.conflict("lost"))
        #expect(update(40).status == 500)
        #expect(r.app.logLines.all.contains { $0.contains("the audit entry of settings.update was not written") })
    }

    /// Assistants, tools, numbers and knowledge entries write their entry in the change's own transaction,
    /// through the store's write, never through a separate append: with appends failing they still work,
    /// and every change has its entry.
    @Test func documentChangesWriteTheirEntryInTheChangesTransaction() throws {
        let r = try Roles()
        var context = r.app.context
        context.audit = FailingAudit(error: StoreError.conflict("a separate append was made"))
        func send(_ method: String, _ path: String, _ body: String?) -> Response {
            r.app.router.handle(
                Request(method: method, path: path, headers: ["content-type": "application/json", "cookie": "auth-token=\(r.editor)"],
                        body: Array((body ?? "").utf8), remoteAddress: "10.0.0.1", requestId: "in-transaction"),
                context)
        }
        let created = send("POST", "/api/assistants", assistantBody)
        #expect(created.status == 201, "\(created.bodyString)")
        let id = try #require(created.json["id"] as? String)
        #expect(send("PATCH", "/api/assistants/\(id)", #"{"name": "Renamed"}"#).status == 200)
        let entry = send("POST", "/api/assistants/\(id)/knowledge", #"{"title": "Hours", "content": "Nine to five"}"#)
        #expect(entry.status == 201, "\(entry.bodyString)")
        #expect(send("DELETE", "/api/assistants/\(id)", nil).status == 200)
        let actions = log(r).compactMap { $0["action"] as? String }
        #expect(Array(actions.prefix(4)) == ["assistant.delete", "knowledge.create", "assistant.update", "assistant.create"])
        #expect(changes(log(r, "?action=assistant.update").first)["name"]?["new"] as? String == "Renamed")
    }

    @Test func theRecordingAPIRedactsWhateverTheCallerPasses() throws {
        let app = try TestApp()
        let user = try app.addUser("admin@example.edu")
        let entry = try AuditTrail.record(
            app.context, actor: .user(user), address: "192.0.2.1", action: "settings.update", target: AuditTarget("organization", user.orgId),
            changes: AuditTrail.changes(
                from: .object(["retentionDays": .int(30), "webhook": .object(["url": "https://a.example", "apiKey": "old-k"])]),
                to: .object(["retentionDays": .int(60), "webhook": .object(["url": "https://a.example", "apiKey": "new-k"]),
                             "list": .array([.object(["password": "pw-in-array", "maxTokens": .int(5)])])])))
        #expect(entry.orgId == user.orgId && entry.at == Timestamp.format(t0))
        let stored = try #require(try JSONValue.parse(Array(entry.changes.utf8)).objectValue)
        #expect(stored["retentionDays"] == .object(["old": .int(30), "new": .int(60)]))
        #expect(stored["webhook.apiKey"] == .object(["old": "[redacted]", "new": "[redacted]"]))
        #expect(stored["webhook.url"] == nil)
        #expect(stored["list"] == .object(["new": .array([.object(["password": "[redacted]", "maxTokens": .int(5)])])]))
        #expect(!entry.changes.contains("old-k") && !entry.changes.contains("pw-in-array"))
    }
}

/// Which field names are secrets (`AuditTrail.isSecret`): any dotted segment ending in a secret's name,
/// compared lowercased without `_` and `-`.
struct AuditSecretNameTests {
    @Test func secretNamesAreKnownInAnySegmentAndCase() {
        for path in [
            "secret", "apiSecret", "password", "passphrase", "token", "authToken", "apiKey", "X-Api-Key", "x_api_key", "credentials",
            "credential", "Authorization", "privateKey", "server.secret", "server.headers.Authorization", "a.PRIVATE_KEY.b",
            "twilioAuthToken", "webhook.apiKey",
        ] {
            #expect(AuditTrail.isSecret(path), "\(path)")
        }
        for path in ["", "name", "maxTokens", "model.maxTokens", "tokens", "secretary", "keyId", "server.url", "passwordHint", "a..b"] {
            #expect(!AuditTrail.isSecret(path), "\(path)")
        }
    }
}
