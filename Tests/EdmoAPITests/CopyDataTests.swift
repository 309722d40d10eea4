import EdmoCore
@testable import EdmoPostgres
import EdmoService
import EdmoSQLite
import EdmoStore
import Foundation
import GRDB
import Testing

/// `edmo copy-data`: a SQLite deployment filled through the stores, copied into PostgreSQL
/// (`PostgresDatabase.copyDeployment` over a `SQLiteSnapshot`, what the command runs), then read back
/// through the PostgreSQL stores and compared with the SQLite stores.
@Suite(.enabled(if: postgresTestsEnabled, "EDMO_TEST_POSTGRES=off: copy-data needs a PostgreSQL server"))
struct CopyDataTests {
    static let key = SecretBox(key: Array(repeating: 9, count: 32))
    static let toolSecret = Array("tool-secret-value".utf8)
    static let credentials = Array(#"{"twilioAccountSid":"AC123","twilioAuthToken":"token-456"}"#.utf8)
    static let dataTables = [
        "organizations", "users", "sessions", "login_failures", "assistants", "tools", "tool_secrets", "phone_numbers",
        "provider_operations", "knowledge_entries", "knowledge_gaps", "conversations", "conversation_messages",
        "analytics_daily", "analytics_keys", "import_state", "login_known_addresses", "job_claims", "audit_log",
        "analytics_retired", "erased_conversations", "analytics_hourly", "analytics_retired_hourly", "idempotency_keys",
        "webhook_endpoints", "webhook_events", "webhook_deliveries",
    ]

    /// A SQLite deployment in a temp folder, migrated, with its stores.
    final class Source {
        let directory = makeTempDirectory()
        var path: String { directory + "/edmo.sqlite" }
        let database: EdmoDatabase
        var stores: Stores { database.stores }

        init(upTo last: String? = nil) throws {
            database = try EdmoDatabase(path: directory + "/edmo.sqlite")
            try database.migrate(try Migration.load(from: migrationsPath), upTo: last)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func rows(in table: String) throws -> Int {
            try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
        }
    }

    /// A fresh PostgreSQL database (not migrated: the copy migrates it) and its stores.
    final class Target {
        let scratch: PostgresScratchDatabase
        let database: PostgresDatabase
        let stores: Stores

        init() throws {
            scratch = try PostgresScratchDatabase()
            database = try PostgresDatabase(url: scratch.url, poolSize: 4)
            stores = database.stores
        }

        func migrate() throws { try database.migrate(try Migration.load(from: postgresMigrationsPath)) }

        func execute(_ sql: String) throws { try database.write { try $0.executeScript(sql) } }

        func rows(in table: String) throws -> Int {
            try database.read { try $0.query("SELECT count(*) AS n FROM \(table)")[0]["n"] }
        }
    }

    static var build: [String] { get throws { try Migration.load(from: migrationsPath).map(\.id) } }

    /// What `edmo copy-data` runs.
    @discardableResult
    static func copy(_ source: Source, to target: Target, progress: (String) -> Void = { _ in }) throws -> DataCopyReport {
        try SQLiteSnapshot.read(path: source.path) { snapshot in
            try target.database.copyDeployment(
                from: snapshot, build: try build, migrations: try Migration.load(from: postgresMigrationsPath), batchSize: 3,
                progress: progress)
        }
    }

    // MARK: the deployment

    /// Something in every data table: two organisations, users (one disabled, one changed), sessions,
    /// login counters, assistants, tools (one with a sealed secret), phone numbers (sealed credentials),
    /// a provider operation, a job claim, knowledge, gaps (pending and resolved), chats with messages
    /// (ended and open), provider calls, analytics keys (one revoked), an import cursor.
    static func fill(_ stores: Stores) throws {
        let at = chatStamp
        for org in ["org_a", "org_b"] { _ = try stores.accounts.ensureOrganization(name: "Org \(org)", id: org, now: t0) }
        for (id, org, role, disabled) in [("usr_1", "org_a", Role.admin, false), ("usr_2", "org_a", .viewer, true), ("usr_3", "org_b", .editor, false)] {
            try stores.accounts.insertUser(UserRecord(
                id: id, orgId: org, email: "\(id)@example.edu", name: id == "usr_3" ? nil : "Name \(id)", role: role,
                disabled: disabled, passwordHash: "$argon2id$v=19$hash-\(id)", createdAt: at(1), updatedAt: at(1)))
        }
        var rename = UserChange()
        rename.name = .value("Renamed")
        _ = try stores.accounts.updateUser(orgId: "org_a", id: "usr_1", change: rename, now: t0.addingTimeInterval(2))
        try stores.accounts.createSession(tokenHash: "tok_1", userId: "usr_1", orgId: "org_a", now: t0, expiresAt: t0.addingTimeInterval(86_400))
        try stores.accounts.createSession(tokenHash: "tok_3", userId: "usr_3", orgId: "org_b", now: t0, expiresAt: t0.addingTimeInterval(86_400))
        try stores.accounts.recordLoginFailures(
            [LoginCounter(key: "locked-key", lock: { $0 >= 2 ? 900 : nil }), LoginCounter(key: "counted-key", lock: { _ in nil })],
            now: t0, window: 900)
        try stores.accounts.recordLoginFailures([LoginCounter(key: "locked-key", lock: { $0 >= 2 ? 900 : nil })], now: t0, window: 900)
        try stores.accounts.recordLoginSuccess(clearing: [], knownAddress: "known-address", now: t0)

        for (id, org) in [("asst_a", "org_a"), ("asst_a2", "org_a"), ("asst_b", "org_b")] {
            try stores.resources.insertDocument(
                .assistant, DocumentRecord(id: id, orgId: org, providerId: id == "asst_a" ? "prov-\(id)" : nil,
                                           body: #"{"id":"\#(id)","name":"Assistant ü \#(id)","metadata":{"k":[1,2.5,null,true]}}"#,
                                           createdAt: at(3), updatedAt: at(3)),
                secret: nil, completing: nil)
        }
        try stores.resources.insertDocument(
            .tool, DocumentRecord(id: "tool_1", orgId: "org_a", body: #"{"id":"tool_1","type":"function"}"#, createdAt: at(4), updatedAt: at(4)),
            secret: key.seal(toolSecret), completing: nil)
        try stores.resources.insertDocument(
            .tool, DocumentRecord(id: "tool_2", orgId: "org_b", body: #"{"id":"tool_2","type":"query"}"#, createdAt: at(4), updatedAt: at(4)),
            secret: nil, completing: nil)
        try stores.resources.updateDocument(
            .tool, DocumentRecord(id: "tool_2", orgId: "org_b", body: #"{"id":"tool_2","type":"query","v":2}"#, createdAt: at(4), updatedAt: at(5)),
            secret: .keep, completing: nil)
        try stores.resources.insertPhoneNumber(
            PhoneNumberRecord(id: "pn_1", orgId: "org_a", provider: "twilio", number: "+15550001111", name: "Front desk",
                              assistantId: "asst_a", providerId: "prov-pn_1", credentials: key.seal(credentials), createdAt: at(6), updatedAt: at(6)),
            completing: nil)
        try stores.resources.insertPhoneNumber(
            PhoneNumberRecord(id: "pn_2", orgId: "org_b", provider: "edmo", number: "+15550002222", createdAt: at(6), updatedAt: at(6)),
            completing: nil)
        try stores.resources.setPhoneNumberMissingSyncs(id: "pn_1", 1)
        try stores.resources.beginOperation(ProviderOperation(
            id: "op_1", orgId: "org_a", kind: .assistant, action: .update, localId: "asst_a", owner: "usr_1", startedAt: at(7)))
        _ = try stores.resources.claimJob("idle-sweep", every: 60, now: t0)

        try stores.chats.insertKnowledge([
            knowledgeEntry("kb_1", title: "Application deadline", content: "Applications close on 1 March.",
                           questions: ["When is the deadline?", "Last day to apply"], second: 8),
            knowledgeEntry("kb_2", title: "Tuition fees", content: "Fees are paid each term; the deadline for fees is in May.", second: 8),
            knowledgeEntry("kb_3", assistant: "asst_a2", title: "Campus parking", content: "Parking permits at the front desk.", second: 8),
        ])
        _ = try stores.chats.recordGap(orgId: "org_a", assistantId: "asst_a", question: "Is there a dress code?",
                                       normalized: KnowledgeRules.normalize("Is there a dress code?"), newId: "gap_1", now: t0)
        _ = try stores.chats.recordGap(orgId: "org_a", assistantId: "asst_a", question: "Is there a dress code?",
                                       normalized: KnowledgeRules.normalize("Is there a dress code?"), newId: "gap_1b", now: t0.addingTimeInterval(9))
        _ = try stores.chats.recordGap(orgId: "org_a", assistantId: "asst_a", question: "Where is the library?",
                                       normalized: KnowledgeRules.normalize("Where is the library?"), newId: "gap_2", now: t0)
        _ = try stores.chats.resolveGap(
            orgId: "org_a", id: "gap_2", entry: knowledgeEntry("kb_4", title: "Where is the library?", content: "In building 7.", second: 10),
            now: t0.addingTimeInterval(10))

        let chat = ConversationRecord.webChat(id: "conv_chat", orgId: "org_a", assistantId: "asst_a", at: at(20))
        try stores.chats.startConversation(chat, messages: [chatMessage(.user, "When is the deadline?", second: 20)])
        try stores.chats.appendMessages(
            conversationId: "conv_chat", [chatMessage(.assistant, "Applications close on 1 March.", second: 21),
                                          chatMessage(.user, "Is there a dress code?", second: 50),
                                          chatMessage(.error, "The assistant could not answer (request r1). Try again later.", second: 51)],
            now: t0.addingTimeInterval(51), cost: 0.1 + 0.2, unanswered: 1, providerChatId: "pchat_1")
        try stores.chats.endConversation(id: "conv_chat", outcome: chatOutcome(.neutral, .escalated), now: t0.addingTimeInterval(60))
        let open = ConversationRecord.webChat(id: "conv_open", orgId: "org_b", assistantId: "asst_b", at: at(70))
        try stores.chats.startConversation(open, messages: [chatMessage(.user, "Hello there!", second: 70)])
        for (index, (sentiment, resolution)) in [(Sentiment.positive, Resolution.resolved), (.negative, .failed)].enumerated() {
            var call = ConversationRecord(
                id: "call_\(index)", orgId: index == 0 ? "org_a" : "org_b", assistantId: index == 0 ? "asst_a" : nil,
                phoneNumberId: index == 0 ? "pn_1" : "pn_2", channel: .phone, type: "inboundPhoneCall", status: .ended,
                endedReason: "customer-ended-call", startedAt: at(86_400 * (index + 1)), endedAt: at(86_400 * (index + 1) + 95),
                lastActivityAt: at(86_400 * (index + 1) + 95), durationSeconds: 95, sentiment: sentiment, resolution: resolution,
                summary: "Call \(index)", successEvaluation: "true", transcript: "AI: Hello\nUser: Hi", recordingUrl: "https://r.example/\(index).wav",
                customerNumber: "+4930123456", cost: 1.0 / 3.0, unanswered: 0, createdAt: at(86_400 * (index + 1)),
                updatedAt: at(86_400 * (index + 1) + 95), reportedAt: at(86_400 * (index + 1) + 100))
            call.stereoRecordingUrl = index == 0 ? "https://r.example/stereo.wav" : nil
            _ = try stores.analytics.upsertCall(call, messages: [chatMessage(.user, "Hi", second: 86_400 * (index + 1))])
        }
        try stores.analytics.createKey(AnalyticsKey(id: "ak_1", orgId: "org_a", name: "Reports", prefix: "ek_abcd", createdAt: at(30)), hash: "hash-ak_1")
        try stores.analytics.createKey(AnalyticsKey(id: "ak_2", orgId: "org_a", prefix: "ek_efgh", createdAt: at(31)), hash: "hash-ak_2")
        try stores.analytics.revokeKey(orgId: "org_a", id: "ak_2", now: t0.addingTimeInterval(32))
        try stores.analytics.setImportCursor("vapi-calls", at(40))
        try stores.audit.append(AuditEntry(
            id: "aud_1", orgId: "org_a", at: at(41), actorKind: .user, actorId: "usr_1", actorLabel: "usr_1@example.edu",
            address: "192.0.2.7", action: "tool.update", targetType: "tool", targetId: "tool_1",
            changes: #"{"server.secret":{"new":"[redacted]","old":null},"name":{"new":"Ü","old":"A"}}"#))
        try stores.audit.append(AuditEntry(
            id: "aud_2", orgId: nil, at: at(42), actorKind: .user, actorLabel: "nobody@example.edu", address: "2001:db8::1",
            action: "auth.login_failed", targetType: "user"))
        // An erased call leaves its counts and its hashed id; an organisation has a retention period.
        var erased = ConversationRecord(
            id: "call_erased", orgId: "org_a", assistantId: "asst_a", channel: .phone, type: "inboundPhoneCall", status: .ended,
            startedAt: at(86_400 * 3), lastActivityAt: at(86_400 * 3 + 20), durationSeconds: 20, sentiment: .positive,
            resolution: .failed, unanswered: 0, createdAt: at(86_400 * 3), updatedAt: at(86_400 * 3 + 20), reportedAt: at(86_400 * 3 + 30))
        erased.customerNumber = "+4930999999"
        _ = try stores.analytics.upsertCall(erased, messages: [chatMessage(.user, "Erase me", second: 86_400 * 3)])
        _ = try stores.analytics.erase(orgId: "org_a", .phoneNumber("+4930999999"), erasedKey: { "erased-\($0)" }, now: t0)
        try stores.accounts.updateSettings(orgId: "org_b", OrganizationSettings(retentionDays: 30))
        // Outbound events: an endpoint (its secret sealed), an event and its delivery.
        try stores.webhooks.insertEndpoint(WebhookEndpoint(
            id: "whe_1", orgId: "org_a", url: "https://hooks.example.com/e", description: nil, eventTypes: ["assistant.created"],
            enabled: true, secret: key.seal(Array("whsec_1".utf8)), createdAt: at(5), updatedAt: at(5)))
        try stores.resources.insertDocument(
            .assistant, DocumentRecord(id: "asst_ev", orgId: "org_a", body: #"{"name":"Events"}"#, createdAt: at(6), updatedAt: at(6)),
            secret: nil, completing: nil,
            event: OutboxEvent(id: "evt_1", orgId: "org_a", type: "assistant.created", subject: "asst_ev", payload: "{}", createdAt: at(6)))
        // An Idempotency-Key with its kept answer (a body that is not text: blob to bytea), and one in progress.
        let kept = IdempotencyScope(caller: "user:usr_1", route: "POST /api/tools", key: "k-kept")
        _ = try stores.idempotency.claim(
            kept, fingerprint: "f", owner: "o", now: t0, leaseUntil: t0.addingTimeInterval(300), expiresAt: t0.addingTimeInterval(86_400))
        try stores.idempotency.complete(kept, owner: "o", response: StoredResponse(status: 201, headers: [["ETag", "\"1\""]], body: [0, 255, 1]))
        _ = try stores.idempotency.claim(
            IdempotencyScope(caller: "user:usr_1", route: "POST /api/chat", key: "k-running"), fingerprint: "f", owner: "o",
            now: t0, leaseUntil: t0.addingTimeInterval(300), expiresAt: t0.addingTimeInterval(86_400))
    }

    /// Everything the store protocols show of the filled deployment, in words: equal on two stores means
    /// the same records.
    static func everything(_ stores: Stores) throws -> [String] {
        var out: [String] = []
        func add(_ label: String, _ value: Any) { out.append("\(label): \(value)") }
        add("users", try stores.accounts.allUsers().sorted { $0.id < $1.id })
        add("organizations", try stores.resources.organizationCount())
        for org in ["org_a", "org_b"] {
            add("org \(org)", try stores.accounts.organization(named: "Org \(org)") as Any)
            add("users of \(org)", try stores.accounts.users(orgId: org, limit: 100, offset: 0))
            for kind in [DocumentKind.assistant, .tool] {
                add("\(kind) of \(org)", try stores.resources.documents(kind, orgId: org, limit: 100, offset: 0))
            }
            add("numbers of \(org)", try stores.resources.phoneNumbers(orgId: org, limit: 100, offset: 0))
            add("gaps of \(org)", try stores.chats.gaps(orgId: org, filter: GapFilter(), limit: 100, offset: 0))
            add("gap counts of \(org)", try stores.analytics.gapCounts(orgId: org, assistantId: nil))
            add("keys of \(org)", try stores.analytics.keys(orgId: org))
            add("audit log of \(org)", try stores.audit.entries(AuditFilter(orgId: org), limit: 100, offset: 0))
            add("settings of \(org)", try stores.accounts.settings(orgId: org) as Any)
        }
        add("all settings", try stores.accounts.organizationSettings().map { "\($0.organization) \($0.settings)" })
        for id in ["usr_1", "usr_2"] { add("user \(id)", try stores.accounts.user(orgId: "org_a", id: id) as Any) }
        add("user by email", try stores.accounts.user(email: "usr_3@example.edu") as Any)
        for token in ["tok_1", "tok_3", "tok_none"] { add("session \(token)", try stores.accounts.session(tokenHash: token) as Any) }
        add("locks", try stores.accounts.loginLocks(keys: ["locked-key", "counted-key"], now: t0.addingTimeInterval(1)).sorted { $0.key < $1.key })
        add("known address", try stores.accounts.isKnownLoginAddress("known-address"))
        for (kind, id) in [(DocumentKind.assistant, "asst_a"), (.assistant, "prov-asst_a"), (.tool, "tool_1"), (.tool, "tool_2")] {
            add("\(kind) \(id)", try stores.resources.document(kind, orgId: id == "tool_2" ? "org_b" : "org_a", id: id) as Any)
        }
        add("tool secret", try stores.resources.toolSecret(toolId: "tool_1") as Any)
        add("no tool secret", try stores.resources.toolSecret(toolId: "tool_2") as Any)
        add("number pn_1", try stores.resources.phoneNumber(orgId: "org_a", id: "pn_1") as Any)
        add("numbers with provider ids", try stores.resources.phoneNumbersWithProviderIds())
        add("number exists", try stores.resources.phoneNumberExists(number: "+15550002222"))
        add("owner", try stores.resources.owner(.phoneNumbers, id: "prov-pn_1") as Any)
        add("operations", try stores.resources.pendingOperations())
        for assistant in ["asst_a", "asst_a2"] {
            add("knowledge of \(assistant)", try stores.chats.knowledgeEntries(orgId: "org_a", assistantId: assistant, limit: 100, offset: 0))
        }
        for question in ["When is the deadline?", "fees deadline", "parking permit", "library"] {
            for assistant in ["asst_a", "asst_a2"] {
                add("search \(question) \(assistant)", try stores.chats.searchKnowledge(
                    assistantId: assistant, terms: KnowledgeRules.searchTerms(question), limit: 3).map(\.id))
            }
        }
        for (org, id) in [("org_a", "conv_chat"), ("org_b", "conv_open"), ("org_a", "call_0"), ("org_b", "call_1")] {
            add("conversation \(id)", try stores.chats.conversation(orgId: org, id: id) as Any)
            add("messages \(id)", try stores.chats.messages(conversationId: id))
        }
        add("idle", try stores.chats.idleConversations(before: t0.addingTimeInterval(1_000_000), limit: 100))
        for filter in analyticsFilters(orgs: [nil, "org_a", "org_b"], assistants: [nil, "asst_a"], numbers: [nil, "pn_1"], fromDays: ["", "2024-01-02"]) {
            add("counts \(filter)", try stores.analytics.counts(filter))
            add("recount \(filter)", try stores.analytics.recount(filter))
            add("conversations \(filter)", try stores.analytics.conversations(filter, limit: 100, offset: 0))
        }
        add("key", try stores.analytics.key(hash: "hash-ak_1") as Any)
        add("webhook endpoints", try stores.webhooks.endpoints(orgId: "org_a", limit: 100, offset: 0))
        add("webhook deliveries", try stores.webhooks.deliveries(orgId: "org_a", endpointId: "whe_1", limit: 100, offset: 0))
        add("webhook event", try stores.webhooks.event(orgId: "org_a", id: "evt_1") as Any)
        add("cursor", try stores.analytics.importCursor("vapi-calls") as Any)
        return out
    }

    // MARK: tests

    @Test func copiesEveryTableAndTheStoresReadTheSameRecords() throws {
        let source = try Source(), target = try Target()
        try Self.fill(source.stores)
        for table in Self.dataTables { #expect(try source.rows(in: table) > 0, "the fixture leaves \(table) empty") }

        var said: [String] = []
        let report = try Self.copy(source, to: target) { said.append($0) }

        #expect(report.tables.map(\.name).sorted() == Self.dataTables.sorted())
        #expect(report.differences == [])
        for table in report.tables {
            #expect(table.source == (try source.rows(in: table.name)), "\(table.name)")
            #expect(table.target == table.source && table.read == table.source, "\(table.name)")
            #expect(try target.rows(in: table.name) == table.source, "\(table.name)")
        }
        // Referenced tables first: each table is copied after those its foreign keys name.
        let order = report.tables.map(\.name)
        for (child, parent) in [("users", "organizations"), ("sessions", "users"), ("tool_secrets", "tools"),
                                ("phone_numbers", "assistants"), ("knowledge_entries", "assistants"),
                                ("conversation_messages", "conversations")] {
            #expect(order.firstIndex(of: parent)! < order.firstIndex(of: child)!, "\(parent) before \(child)")
        }
        #expect(said.contains("copied conversations: 4 rows"))
        #expect(report.sourceAggregates.total == 4 && report.targetAggregates == report.sourceAggregates)
        #expect(report.targetRecount == report.sourceRecount)
        #expect(report.sequences == ["webhook_deliveries.seq -> 2"])

        let sqlite = try Self.everything(source.stores), postgres = try Self.everything(target.stores)
        #expect(sqlite.count == postgres.count)
        for (s, p) in zip(sqlite, postgres) { #expect(s == p) }

        // Knowledge search finds the same entry, through the generated vector PostgreSQL built from the copy.
        let found = try target.stores.chats.searchKnowledge(
            assistantId: "asst_a", terms: KnowledgeRules.searchTerms("When is the deadline?"), limit: 3)
        #expect(found.first?.id == "kb_1")
        // Sealed values are the same bytes, and open with the same key.
        let secret = try #require(try target.stores.resources.toolSecret(toolId: "tool_1"))
        #expect(secret == (try source.stores.resources.toolSecret(toolId: "tool_1")))
        #expect(Self.key.open(secret) == Self.toolSecret)
        let number = try #require(try target.stores.resources.phoneNumber(orgId: "org_a", id: "pn_1"))
        #expect(Self.key.open(try #require(number.credentials)) == Self.credentials)
        #expect(SecretBox(key: Array(repeating: 8, count: 32)).open(secret) == nil)
        // Booleans, floats and versions as they were.
        #expect(try target.stores.accounts.user(orgId: "org_a", id: "usr_2")?.disabled == true)
        #expect(try target.stores.chats.conversation(orgId: "org_a", id: "conv_chat")?.cost == 0.1 + 0.2)
        #expect(try target.stores.resources.document(.tool, orgId: "org_b", id: "tool_2")?.version == 2)
        // The copy goes on working as a deployment: a session, a new row, a claimed job.
        #expect(try target.stores.accounts.session(tokenHash: "tok_1")?.user?.email == "usr_1@example.edu")
        #expect(try target.stores.resources.claimJob("idle-sweep", every: 60, now: t0.addingTimeInterval(30)) == false)
        // A kept Idempotency-Key answer is replayed from the copy, byte for byte.
        #expect(try target.stores.idempotency.claim(
            IdempotencyScope(caller: "user:usr_1", route: "POST /api/tools", key: "k-kept"), fingerprint: "f", owner: "o2",
            now: t0.addingTimeInterval(30), leaseUntil: t0.addingTimeInterval(330), expiresAt: t0.addingTimeInterval(86_430))
            == .replay(StoredResponse(status: 201, headers: [["ETag", "\"1\""]], body: [0, 255, 1])))
        _ = try target.stores.chats.recordGap(orgId: "org_a", assistantId: "asst_a", question: "Is there a dress code?",
                                              normalized: KnowledgeRules.normalize("Is there a dress code?"), newId: "gap_x", now: t0)
        #expect(try target.stores.chats.gap(orgId: "org_a", id: "gap_1")?.priority == "high")
    }

    @Test func aNonEmptyTargetIsRefusedAndLeftAsItWas() throws {
        let source = try Source()
        try Self.fill(source.stores)
        // A deployment already on the target.
        let target = try Target()
        try target.migrate()
        _ = try target.stores.accounts.ensureOrganization(name: "Theirs", id: "org_theirs", now: t0)
        #expect(throws: DataCopyError.targetNotEmpty(["organizations (1 row)"])) { try Self.copy(source, to: target) }
        #expect(try target.rows(in: "organizations") == 1)
        #expect(try target.database.tablesHoldingRows() == ["organizations (1 row)"])

        // Any table with a row counts, also one that is not edmo's; such a database is not even migrated.
        let other = try Target()
        try other.execute("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('keep me')")
        #expect(throws: DataCopyError.targetNotEmpty(["notes (1 row)"])) { try Self.copy(source, to: other) }
        #expect(try other.database.appliedMigrations() == [])
        #expect(try other.rows(in: "notes") == 1)
    }

    @Test func aRowTheTargetRejectsLeavesItEmpty() throws {
        let source = try Source()
        try Self.fill(source.stores)
        let target = try Target()
        try target.migrate()
        // Copied late (after the conversations): every table before it was written in the same transaction.
        try target.execute("ALTER TABLE conversation_messages ADD CONSTRAINT no_errors CHECK (role <> 'error')")
        var said: [String] = []
        do {
            try Self.copy(source, to: target) { said.append($0) }
            Issue.record("the copy went through")
        } catch let error as DataCopyError {
            guard case .rejected(let message) = error else { throw error }
            #expect(message.contains("conversation_messages") && message.contains("no_errors"), "\(message)")
            #expect(error.description.contains("rolled back"))
        }
        #expect(said.contains("copied conversations: 4 rows"))
        #expect(try target.database.tablesHoldingRows() == [])
        for table in Self.dataTables { #expect(try target.rows(in: table) == 0, "\(table)") }
    }

    @Test func aSourceWithOtherMigrationsIsRefusedBeforeTheTargetIsTouched() throws {
        let build = try Self.build
        let source = try Source(upTo: build[build.count - 2])
        let target = try Target()
        do {
            try Self.copy(source, to: target)
            Issue.record("the copy went through")
        } catch let error as DataCopyError {
            #expect(error == .sourceMigrations(source: Array(build.dropLast()), build: build))
            #expect(error.description.contains("it lacks \(build.last!) (run `edmo migrate` on it first)"))
        }
        #expect(try target.database.appliedMigrations() == [])
    }

    @Test func aggregatesThatDisagreeWithTheConversationsRollTheCopyBack() throws {
        let source = try Source()
        try Self.fill(source.stores)
        try source.database.write { try $0.execute(sql: "UPDATE analytics_daily SET conversations = conversations + 1 WHERE sentiment = 'negative'") }
        let target = try Target()
        do {
            try Self.copy(source, to: target)
            Issue.record("the copy went through")
        } catch DataCopyError.differs(let report) {
            #expect(report.sourceAggregates.negative == report.sourceRecount.negative + 1)
            #expect(report.differences.contains { $0.hasPrefix("analytics negative: the source's aggregates say") })
            #expect(report.tables.allSatisfy { $0.source == $0.target })
        }
        #expect(try target.database.tablesHoldingRows() == [])
    }

    @Test func writesAfterTheSnapshotAreNotCopiedAndTheChecksStillHold() throws {
        let source = try Source()
        try Self.fill(source.stores)
        let target = try Target()
        var wrote = false
        let report = try Self.copy(source, to: target) { _ in
            guard !wrote else { return }
            wrote = true
            // The service goes on while the copy runs.
            _ = try? source.stores.accounts.ensureOrganization(name: "Late", id: "org_late", now: t0)
            _ = try? source.stores.analytics.upsertCall(
                ConversationRecord(
                    id: "call_late", orgId: "org_a", channel: .phone, type: "inboundPhoneCall", status: .ended, startedAt: chatStamp(5),
                    lastActivityAt: chatStamp(6), durationSeconds: 1, sentiment: .positive, resolution: .resolved, unanswered: 0,
                    createdAt: chatStamp(5), updatedAt: chatStamp(6), reportedAt: chatStamp(6)),
                messages: [])
        }
        #expect(wrote)
        #expect(try source.rows(in: "conversations") == 5)
        #expect(report.tables.first { $0.name == "conversations" }?.target == 4)
        #expect(try target.stores.accounts.organization(named: "Late") == nil)
        #expect(report.differences == [])
    }

    @Test func serialColumnsContinuePastTheCopiedValues() throws {
        let source = try Source()
        try Self.fill(source.stores)
        try source.database.write { db in
            try db.execute(sql: "ALTER TABLE import_state ADD COLUMN n INTEGER")
            try db.execute(sql: "UPDATE import_state SET n = 41")
        }
        let target = try Target()
        try target.migrate()
        try target.execute("ALTER TABLE import_state ADD COLUMN n SERIAL")
        let report = try Self.copy(source, to: target)
        #expect(report.sequences == ["import_state.n -> 42", "webhook_deliveries.seq -> 2"])
        try target.execute("INSERT INTO import_state (name, cursor) VALUES ('next', 'x')")
        let n: Int = try target.database.read { try $0.query("SELECT n FROM import_state WHERE name = 'next'")[0]["n"] }
        #expect(n == 42)
    }

    @Test func dataTablesLeaveOutBookkeepingAndTheSearchIndex() throws {
        let source = try Source()
        let tables = try SQLiteSnapshot.read(path: source.path) { try $0.dataTables() }
        #expect(tables == Self.dataTables)
        #expect(throws: DataCopyError.source("there is no SQLite database at \(source.directory)/none.sqlite")) {
            try SQLiteSnapshot.read(path: source.directory + "/none.sqlite") { _ in }
        }
    }
}

/// How a source value becomes a parameter for its target column, and the order tables are copied in: no
/// server needed.
struct CopyDataConversionTests {
    typealias Copy = PostgresDataCopy

    static func column(_ type: String) -> Copy.Column {
        Copy.Column(name: "c", type: type, generated: false, identityAlways: false, sequenced: false)
    }

    static func converted(_ value: TableValue, _ type: String) throws -> PostgresValue? {
        try Copy.parameter(value, for: column(type))?.postgresValue
    }

    @Test func valuesBecomeTheirColumnsTypes() throws {
        #expect(try Self.converted(.integer(1), "boolean") == .text("true"))
        #expect(try Self.converted(.integer(0), "boolean") == .text("false"))
        #expect(try Self.converted(.null, "boolean") == nil)
        #expect(try Self.converted(.blob([0, 1, 255]), "bytea") == .bytes([0, 1, 255]))
        #expect(try Self.converted(.blob([]), "bytea") == .bytes([]))
        #expect(try Self.converted(.integer(Int64.max), "bigint") == .text("9223372036854775807"))
        #expect(try Self.converted(.real(3.0), "integer") == .text("3"))
        #expect(try Self.converted(.real(0.1 + 0.2), "double precision") == .text("0.30000000000000004"))
        #expect(try Self.converted(.integer(2), "double precision") == .text("2"))
        #expect(try Self.converted(.text("ü \"x\""), "text") == .text("ü \"x\""))
        #expect(try Self.converted(.blob(Array("plain".utf8)), "text") == .text("plain"))
    }

    @Test func valuesTheTargetCannotHoldAreRefused() {
        for (value, type) in [(TableValue.integer(2), "boolean"), (.text("yes"), "boolean"), (.real(2.5), "bigint"),
                              (.text("a\u{0}b"), "text"), (.blob([0xff, 0xfe]), "text")] {
            #expect(throws: Copy.ConversionProblem.self, "\(value) for \(type)") { try Self.converted(value, type) }
        }
    }

    @Test func referencedTablesComeFirstAndACycleIsAnError() throws {
        let order = try Copy.referencedFirst(
            ["messages", "users", "conversations", "organizations", "notes"],
            references: [("messages", "conversations"), ("conversations", "organizations"), ("users", "organizations"),
                         ("users", "users"), ("elsewhere", "users")])
        #expect(order == ["organizations", "users", "conversations", "messages", "notes"])
        #expect(throws: DataCopyError.schema("the foreign keys of a, b form a cycle")) {
            try Copy.referencedFirst(["a", "b"], references: [("a", "b"), ("b", "a")])
        }
    }
}
