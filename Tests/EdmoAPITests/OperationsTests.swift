import EdmoCore
import EdmoPostgres
import EdmoService
import EdmoSQLite
import EdmoStore
@testable import EdmoAPI
import Foundation
import Synchronization
import Testing

/// The metrics registry (labels from the route table, histogram buckets, the text format, many threads),
/// `GET /api/health` on both stores, `/metrics`, and the stores' commit hook and queue depths.
@Suite struct MetricsRegistryTests {
    @Test func requestsAreCountedByRoutePatternNeverByPath() throws {
        let app = try TestApp()
        #expect(app.send("GET", "/api/assistants/asst_secret_1").status == 401)
        #expect(app.send("GET", "/api/assistants/asst_secret_2").status == 401)
        #expect(app.send("DELETE", "/api/assistants/asst_secret_2").status == 401)
        #expect(app.send("GET", "/api/no-such-thing-abc").status == 404)
        #expect(app.send("PUT", "/api/auth/me").status == 405)
        #expect(app.send("BREW", "/api/coffee").status == 404)
        let metrics = app.context.metrics
        #expect(metrics.requestCount(method: "GET", route: "/api/assistants/{id}", status: 401) == 2)
        #expect(metrics.requestCount(method: "DELETE", route: "/api/assistants/{id}", status: 401) == 1)
        // The router's own 404 and 405: route `unmatched`; a method outside the fixed list is OTHER.
        #expect(metrics.requestCount(method: "GET", route: "unmatched", status: 404) == 1)
        #expect(metrics.requestCount(method: "PUT", route: "unmatched", status: 405) == 1)
        #expect(metrics.requestCount(method: "OTHER", route: "unmatched", status: 404) == 1)
        let text = app.context.metricsText()
        #expect(text.contains(#"edmo_requests_total{method="GET",route="/api/assistants/{id}",status="401"} 2"#))
        for leaked in ["asst_secret", "no-such-thing", "coffee", "BREW"] { #expect(!text.contains(leaked)) }
    }

    @Test func durationsFallIntoFixedBuckets() {
        let metrics = Metrics()
        let label = RouteLabel(method: "GET", route: "/api/x")
        // A bound is inclusive (le): exactly 1 ms is in the 0.001 bucket.
        for ns: UInt64 in [1_000_000, 3_000_000, 3_000_000, 700_000_000, 20_000_000_000] {
            metrics.observeRequest(label, status: 200, nanoseconds: ns)
        }
        let lines = metrics.render().split(separator: "\n").filter { $0.hasPrefix("edmo_request_duration_seconds") }
        let bucket = { (le: String) in lines.first { $0.contains(#"le="\#(le)""#) }.map { $0.split(separator: " ").last! } }
        #expect(bucket("0.001") == "1")
        #expect(bucket("0.0025") == "1")
        #expect(bucket("0.005") == "3")
        #expect(bucket("0.5") == "3")
        #expect(bucket("1") == "4")
        #expect(bucket("10") == "4")
        #expect(bucket("+Inf") == "5")
        #expect(lines.contains(#"edmo_request_duration_seconds_sum{method="GET",route="/api/x"} 20.707"#))
        #expect(lines.contains(#"edmo_request_duration_seconds_count{method="GET",route="/api/x"} 5"#))
    }

    /// The whole exposition for a small case, byte for byte.
    @Test func textFormatIsExact() {
        let metrics = Metrics()
        let me = RouteLabel(method: "GET", route: "/api/auth/me")
        metrics.observeRequest(me, status: 200, nanoseconds: 1_500_000)
        metrics.observeRequest(me, status: 401, nanoseconds: 400_000)
        metrics.observeRequest(RouteLabel.unmatched(method: "GET"), status: 404, nanoseconds: 30_000)
        metrics.observeCommit(.microseconds(2_000))
        metrics.setWorkers(4)
        metrics.workerBusy()
        // Three connections opened, one closed: two open.
        for _ in 0..<3 { metrics.connectionOpened() }
        metrics.connectionClosed()
        let text = metrics.render(gauges: [Gauge("edmo_test_depth", "A \"quoted\" help\\ line.", [([("gate", #"a"b\c"#)], 3)])])
        let expected = """
            # HELP edmo_requests_total Requests answered, by method, route pattern (unmatched: no route took it) and status.
            # TYPE edmo_requests_total counter
            edmo_requests_total{method="GET",route="/api/auth/me",status="200"} 1
            edmo_requests_total{method="GET",route="/api/auth/me",status="401"} 1
            edmo_requests_total{method="GET",route="unmatched",status="404"} 1
            # HELP edmo_request_duration_seconds Time from the router taking a request to its response being ready, by method and route pattern.
            # TYPE edmo_request_duration_seconds histogram
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.001"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.0025"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.005"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.01"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.025"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.05"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.1"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.25"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="0.5"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="1"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="2.5"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="10"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="/api/auth/me",le="+Inf"} 2
            edmo_request_duration_seconds_sum{method="GET",route="/api/auth/me"} 0.0019
            edmo_request_duration_seconds_count{method="GET",route="/api/auth/me"} 2
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.001"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.0025"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.005"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.01"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.025"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.05"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.1"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.25"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="0.5"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="1"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="2.5"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="10"} 1
            edmo_request_duration_seconds_bucket{method="GET",route="unmatched",le="+Inf"} 1
            edmo_request_duration_seconds_sum{method="GET",route="unmatched"} 0.00003
            edmo_request_duration_seconds_count{method="GET",route="unmatched"} 1
            # HELP edmo_store_commit_duration_seconds Committed write transactions, from asking for the writer (SQLite) or a connection (PostgreSQL) to the durable commit.
            # TYPE edmo_store_commit_duration_seconds histogram
            edmo_store_commit_duration_seconds_bucket{le="0.00025"} 0
            edmo_store_commit_duration_seconds_bucket{le="0.0005"} 0
            edmo_store_commit_duration_seconds_bucket{le="0.001"} 0
            edmo_store_commit_duration_seconds_bucket{le="0.0025"} 1
            edmo_store_commit_duration_seconds_bucket{le="0.005"} 1
            edmo_store_commit_duration_seconds_bucket{le="0.01"} 1
            edmo_store_commit_duration_seconds_bucket{le="0.025"} 1
            edmo_store_commit_duration_seconds_bucket{le="0.05"} 1
            edmo_store_commit_duration_seconds_bucket{le="0.1"} 1
            edmo_store_commit_duration_seconds_bucket{le="0.25"} 1
            edmo_store_commit_duration_seconds_bucket{le="1"} 1
            edmo_store_commit_duration_seconds_bucket{le="+Inf"} 1
            edmo_store_commit_duration_seconds_sum 0.002
            edmo_store_commit_duration_seconds_count 1
            # HELP edmo_workers FastCGI requests served at once (EDMO_WORKERS; 4 threads each).
            # TYPE edmo_workers gauge
            edmo_workers 4
            # HELP edmo_workers_busy Threads inside a request (this scrape's included; more than edmo_workers while some wait on commits).
            # TYPE edmo_workers_busy gauge
            edmo_workers_busy 1
            # HELP edmo_fastcgi_connections Open FastCGI connections from nginx, idle kept ones included.
            # TYPE edmo_fastcgi_connections gauge
            edmo_fastcgi_connections 2
            # HELP edmo_test_depth A "quoted" help\\\\ line.
            # TYPE edmo_test_depth gauge
            edmo_test_depth{gate="a\\"b\\\\c"} 3

            """
        #expect(text == expected)
    }

    /// 16 threads record 20,000 requests each over four routes and a commit each time, while another
    /// thread keeps rendering: nothing is lost, nothing crashes.
    @Test func manyThreadsLoseNothing() throws {
        let metrics = Metrics()
        let labels = (0..<4).map { RouteLabel(method: "GET", route: "/api/r\($0)") }
        let perThread = 20_000, threads = 16
        let stop = Atomic(false)
        let renders = Atomic(0)
        let renderer = Thread {
            while !stop.load(ordering: .relaxed) {
                _ = metrics.render()
                renders.add(1, ordering: .relaxed)
            }
        }
        renderer.start()
        try runNumberedThreads(threads) { n in
            for i in 0..<perThread {
                metrics.observeRequest(labels[(n + i) % 4], status: i % 2 == 0 ? 200 : 404, nanoseconds: UInt64(i % 1000) * 10_000)
                metrics.workerBusy()
                metrics.workerIdle()
                if i % 10 == 0 { metrics.observeCommit(.microseconds(500)) }
            }
        }
        stop.store(true, ordering: .relaxed)
        var total: UInt64 = 0
        for label in labels {
            for status in [200, 404] { total += metrics.requestCount(method: "GET", route: label.route, status: status) }
        }
        #expect(total == UInt64(perThread * threads))
        let text = metrics.render()
        #expect(text.contains("edmo_store_commit_duration_seconds_count \(perThread * threads / 10)\n"))
        #expect(text.contains("edmo_workers_busy 0\n"))
        for label in labels {
            #expect(text.contains(#"edmo_request_duration_seconds_count{method="GET",route="\#(label.route)"} \#(perThread * threads / 4)"#))
        }
        #expect(renders.load(ordering: .relaxed) > 0)
    }

    /// What the router adds per request: one `observeRequest` (measured, printed; generous bound).
    @Test func recordingARequestIsCheap() throws {
        let metrics = Metrics()
        let labels = Routes.table.map(\.label)
        let rounds = 1_000_000
        // Every route once, so the timed loop finds its series (as a running server does).
        for label in labels { metrics.observeRequest(label, status: 200, nanoseconds: 1) }
        let started = DispatchTime.now().uptimeNanoseconds
        for i in 0..<rounds {
            metrics.observeRequest(labels[i % labels.count], status: 200, nanoseconds: UInt64(i & 0xFFFFF) * 100)
        }
        let single = Double(DispatchTime.now().uptimeNanoseconds - started) / Double(rounds)

        let threads = 8, perThread = 250_000
        let contended = DispatchTime.now().uptimeNanoseconds
        try runNumberedThreads(threads) { n in
            for i in 0..<perThread {
                metrics.observeRequest(labels[(i &* 7 &+ n) % labels.count], status: 200, nanoseconds: UInt64(i) * 100)
            }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - contended) / Double(threads * perThread)
        print("metrics: observeRequest \(Int(single)) ns one thread; \(Int(wall)) ns wall per request over \(threads) threads")
        #expect(single < 5_000)
    }
}

/// A store check the test drives: how long a ping takes, whether it fails, how often it ran.
final class ScriptedHealth: StoreHealth {
    let engine = "scripted"
    let delay: Duration
    let fails: Bool
    let pings = Atomic(0)

    init(delay: Duration = .zero, fails: Bool = false) {
        self.delay = delay
        self.fails = fails
    }

    func ping() throws {
        pings.add(1, ordering: .relaxed)
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18) }
        if fails { throw StoreUnavailable("scripted failure") }
    }

    func backlog(now: Date, idleBefore cutoff: Date) throws -> StoreBacklog {
        try ping()
        return StoreBacklog(providerOperations: 0, openConversations: 0, idleConversations: 0)
    }
}

@Suite struct HealthTests {
    @Test func sqliteAnswersThenNotOnceItsFileIsRemoved() throws {
        let app = try TestApp()
        let ok = app.send("GET", "/api/health")
        #expect(ok.status == 200)
        #expect(ok.bodyString == #"{"status":"ok","store":"sqlite"}"#)
        #expect(ok.header("Cache-Control") == "no-store")

        // The open connections would go on with the unlinked file; the check compares the file at the path.
        try FileManager.default.removeItem(atPath: app.context.config.database)
        let gone = app.send("GET", "/api/health")
        #expect(gone.status == 503)
        #expect(gone.header("Retry-After") == "5")
        #expect(gone.error == "The database does not answer; this host is not ready")
        #expect(app.logLines.all.contains { $0.contains("health: the sqlite store does not answer") && $0.contains("is gone") })

        // Another file at the same path is not the database this process has open either.
        #expect(FileManager.default.createFile(atPath: app.context.config.database, contents: Data()))
        #expect(app.send("GET", "/api/health").status == 503)
    }

    @Test(arguments: StoreKind.tested)
    func answersOnBothStoresAndNotOnceTheDatabaseIsGone(_ kind: StoreKind) throws {
        let config = Config(database: "unused", secretKey: Array(repeating: 7, count: 32))
        switch kind {
        case .sqlite:
            let directory = makeTempDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let database = try EdmoDatabase(path: directory + "/edmo.sqlite")
            try database.migrate(try Migration.load(from: migrationsPath))
            let context = AppContext(config: config, stores: database.stores, passwords: .fastForTests(), log: .silent)
            #expect(try context.checkStore().get() == "sqlite")
            try FileManager.default.removeItem(atPath: directory + "/edmo.sqlite")
            #expect(throws: StoreUnavailable.self) { try context.checkStore().get() }
        case .postgres:
            let scratch = try PostgresScratchDatabase()
            let database = try PostgresDatabase(url: scratch.url, poolSize: 2)
            try database.migrate(try Migration.load(from: postgresMigrationsPath))
            let stores = database.stores
            let sink = LogSink()
            let context = AppContext(config: config, stores: stores, passwords: .fastForTests(), log: Logger { sink.append($0) })
            let router = Router()
            let ok = router.handle(Request(method: "GET", path: "/api/health"), context)
            #expect(ok.status == 200)
            #expect(ok.bodyString == #"{"status":"ok","store":"postgres"}"#)
            // Dropped under it (its sessions ended): reconnecting finds no database.
            try PostgresConnection(url: postgresTestServer!).executeScript("DROP DATABASE \(scratch.name) WITH (FORCE)")
            let gone = router.handle(Request(method: "GET", path: "/api/health"), context)
            #expect(gone.status == 503)
            #expect(gone.header("Retry-After") == "5")
            #expect(sink.all.contains { $0.contains("health: the postgres store does not answer") })
        }
    }

    @Test func aStoreThatHangsFailsInTimeAndIsAskedOnce() throws {
        let health = ScriptedHealth(delay: .seconds(2))
        var context = try TestApp().context
        context.health = health
        let started = ContinuousClock.now
        let failures = Atomic(0)
        // Eight callers at once (nginx and balancers probing): one ping runs, every caller gives up in time.
        let captured = context
        try runThreads(8) {
            if case .failure = captured.checkStore(timeout: .milliseconds(200)) { failures.add(1, ordering: .relaxed) }
        }
        #expect(ContinuousClock.now - started < .seconds(1.5))
        #expect(failures.load(ordering: .relaxed) == 8)
        #expect(health.pings.load(ordering: .relaxed) == 1)
        // Once it is done, the next check runs again (and answers).
        Thread.sleep(forTimeInterval: 2.2)
        #expect(try context.checkStore(timeout: .seconds(3)).get() == "scripted")
        #expect(health.pings.load(ordering: .relaxed) == 2)
    }

    @Test func storesBuiltWithoutACheckAreNotReady() throws {
        var context = try TestApp().context
        context.health = nil
        #expect(Router().handle(Request(method: "GET", path: "/api/health"), context).status == 503)
    }

    @Test func healthNeedsNoSessionAndOnlyGet() throws {
        let app = try TestApp()
        #expect(app.send("GET", "/api/health", headers: ["cookie": "auth-token=bogus"]).status == 200)
        #expect(app.send("POST", "/api/health").status == 405)
    }
}

@Suite struct MetricsEndpointTests {
    @Test func servedToLoopbackOnly() throws {
        let app = try TestApp()
        _ = app.send("GET", "/api/auth/me")
        for address in ["127.0.0.1", "127.0.0.9", "::1", "::ffff:127.0.0.1"] {
            let response = app.send("GET", "/metrics", address: address)
            #expect(response.status == 200, "\(address)")
            #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.bodyString.contains(#"edmo_requests_total{method="GET",route="/api/auth/me",status="401"} 1"#))
            #expect(response.bodyString.contains(#"edmo_store_up{store="sqlite"} 1"#))
        }
        for address in ["10.0.0.1", "192.0.2.2", "", "::2", "fe80::1", "128.0.0.1", "127.0.0.1.5", "1127.0.0.1"] {
            let response = app.send("GET", "/metrics", address: address)
            #expect(response.status == 403, "\(address)")
            #expect(!response.bodyString.contains("edmo_"))
        }
        // Not under /api, and no other spelling reaches it in the router (nginx's normalisation is nginx's).
        for path in ["/api/metrics", "/api/../metrics", "//metrics", "/metrics/", "/api/%2E%2E/metrics"] {
            #expect(app.send("GET", path, address: "127.0.0.1").status == 404, "\(path)")
        }
    }

    @Test func gatesAndQueueDepthsAreReadAtScrapeTime() throws {
        let app = try TestApp { $0.chatIdleSeconds = 60 }
        try app.addUser("ops@example.edu")
        let token = try app.login("ops@example.edu")
        let created = app.send("POST", "/api/assistants", json: #"{"name":"Ops","model":{"provider":"openai","model":"gpt-4o"},"voice":{"provider":"openai","voiceId":"alloy"}}"#, token: token)
        #expect(created.status == 201)
        let assistant = created.json["id"] as? String ?? ""
        #expect(app.send("POST", "/api/chat", json: #"{"assistantId":"\#(assistant)","message":"Hello there"}"#, token: token).status == 200)
        var text = app.context.metricsText()
        #expect(text.contains("edmo_conversations_open 1\n"))
        #expect(text.contains("edmo_conversations_idle 0\n"))
        #expect(text.contains("edmo_provider_operations_pending 0\n"))
        #expect(text.contains("edmo_webhook_deliveries_pending 0\n"))
        #expect(text.contains("edmo_webhook_deliveries_due 0\n"))
        #expect(text.contains(#"edmo_capacity_slots{gate="password_hashing"} 4"#))
        #expect(text.contains(#"edmo_capacity_busy{gate="password_hashing"} 0"#))
        #expect(text.contains(#"edmo_capacity_queued{gate="outbound_calls"} 0"#))
        app.clock.advance(61)
        text = app.context.metricsText()
        #expect(text.contains("edmo_conversations_idle 1\n"))
    }
}

@Suite struct StoreOperationsTests {
    /// Every committed write transaction is reported once; a failed one is not.
    @Test(arguments: StoreKind.tested)
    func commitsAreTimedAndBacklogCounted(_ kind: StoreKind) throws {
        let metrics = Metrics()
        let health: any StoreHealth, resources: any ResourceStore, chats: any ChatStore, accounts: any AccountStore
        let webhooks: any WebhookStore
        var keep: [Any] = []
        switch kind {
        case .sqlite:
            let directory = makeTempDirectory()
            let database = try EdmoDatabase(path: directory + "/edmo.sqlite", onCommit: metrics.observeCommit)
            try database.migrate(try Migration.load(from: migrationsPath))
            (health, resources, chats, accounts) = (database, database.stores.resources, database.stores.chats, database.stores.accounts)
            webhooks = database.stores.webhooks
        case .postgres:
            let scratch = try PostgresScratchDatabase()
            keep.append(scratch)
            let database = try PostgresDatabase(url: scratch.url, poolSize: 2, onCommit: metrics.observeCommit)
            try database.migrate(try Migration.load(from: postgresMigrationsPath))
            (health, resources, chats, accounts) = (
                database, PostgresResourceStore(database: database), PostgresChatStore(database: database),
                PostgresAccountStore(database: database))
            webhooks = PostgresWebhookStore(database: database)
        }
        let commits = { () -> Int in
            let line = metrics.render().split(separator: "\n").first { $0.hasPrefix("edmo_store_commit_duration_seconds_count") }
            return Int(line?.split(separator: " ").last ?? "") ?? -1
        }
        let before = commits()
        _ = try accounts.ensureOrganization(name: "org_a", id: "org_a", now: t0)
        try resources.insertDocument(
            .assistant, DocumentRecord(id: "asst_a", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
            secret: nil, completing: nil)
        let afterWrites = commits()
        #expect(afterWrites >= before + 2)
        // A write that fails (the same id again) commits nothing and is not counted.
        #expect(throws: (any Error).self) {
            try resources.insertDocument(
                .assistant, DocumentRecord(id: "asst_a", orgId: "org_a", body: "{}", createdAt: chatStamp(0), updatedAt: chatStamp(0)),
                secret: nil, completing: nil)
        }
        #expect(commits() == afterWrites)

        #expect(try health.backlog(now: t0, idleBefore: t0) == StoreBacklog(providerOperations: 0, openConversations: 0, idleConversations: 0))
        try chats.startConversation(
            ConversationRecord.webChat(id: "chat_1", orgId: "org_a", assistantId: "asst_a", at: chatStamp(0)),
            messages: [chatMessage(.user, "Hello?")])
        try chats.startConversation(
            ConversationRecord.webChat(id: "chat_2", orgId: "org_a", assistantId: "asst_a", at: chatStamp(100)),
            messages: [chatMessage(.user, "Hello?", second: 100)])
        try resources.beginOperation(ProviderOperation(
            id: "op_1", orgId: "org_a", kind: .assistant, action: .create, localId: "asst_b", owner: "host/1", startedAt: chatStamp(0)))
        // An endpoint, and an event for it at second 200: one delivery pending, due from second 200.
        try webhooks.insertEndpoint(WebhookEndpoint(
            id: "whe_a", orgId: "org_a", url: "https://hooks.example.com/a", description: nil, eventTypes: [EventType.assistantCreated],
            enabled: true, secret: [1], createdAt: chatStamp(0), updatedAt: chatStamp(0)))
        try resources.insertDocument(
            .assistant, DocumentRecord(id: "asst_c", orgId: "org_a", body: "{}", createdAt: chatStamp(200), updatedAt: chatStamp(200)),
            secret: nil, completing: nil,
            event: OutboxEvent(id: "evt_1", orgId: "org_a", type: EventType.assistantCreated, subject: "asst_c", payload: "{}",
                               createdAt: chatStamp(200)))
        #expect(try health.backlog(now: t0.addingTimeInterval(199), idleBefore: t0.addingTimeInterval(50))
            == StoreBacklog(providerOperations: 1, openConversations: 2, idleConversations: 1, pendingDeliveries: 1, dueDeliveries: 0))
        #expect(try health.backlog(now: t0.addingTimeInterval(200), idleBefore: t0.addingTimeInterval(50))
            == StoreBacklog(providerOperations: 1, openConversations: 2, idleConversations: 1, pendingDeliveries: 1, dueDeliveries: 1))
        // In flight (claimed by a delivery thread): still pending, no longer the threads' backlog.
        let at = t0.addingTimeInterval(200)
        #expect(try webhooks.claimDeliveries(now: at, leaseUntil: at.addingTimeInterval(25), owner: "h", limit: 10).count == 1)
        #expect(try health.backlog(now: at, idleBefore: t0.addingTimeInterval(50))
            == StoreBacklog(providerOperations: 1, openConversations: 2, idleConversations: 1, pendingDeliveries: 1, dueDeliveries: 0))
        try health.ping()
        _ = keep
    }
}
