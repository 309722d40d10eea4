import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoSQLite
@testable import EdmoAPI
import Foundation
import GRDB
import Synchronization
import Testing

// Security review fixes: upstream error text, deployment secrets, SSRF guard gaps, log injection, small
// talk, and the per-host gates on password hashing and outbound calls.

/// The id of the only conversation in a test database (a failed chat turn answers no chatId).
private func onlyConversationId(_ app: TestApp) throws -> String {
    try #require(try app.database.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM conversations") }.first)
}

@Suite struct UpstreamErrorTextTests {
    static let marker = "UPSTREAM-DETAIL-7f3a9c"

    @Test func aModelsErrorBodyIsLoggedButNeverStoredOrShown() throws {
        let server = try OneShotServer(response: OneShotServer.http(
            "500 Internal Server Error", #"{"error":{"message":"\#(Self.marker): quota of org-internal exceeded on 10.1.2.3"}}"#))
        let s = try ChatSetup(configure: { $0.openAIBaseURL = server.url; $0.openAIKey = "sk"; $0.allowPrivateURLs = true })
        let response = s.chat("When is the application deadline?")
        #expect(response.status == 502)
        #expect(!response.bodyString.contains(Self.marker))

        let chatId = try onlyConversationId(s.r.app)
        let shown = s.r.app.send("GET", "/api/chat/\(chatId)", token: s.r.viewer)
        #expect(shown.status == 200)
        #expect(!shown.bodyString.contains(Self.marker))
        let messages = try #require(shown.json["messages"] as? [[String: Any]])
        #expect(messages.last?["role"] as? String == "error")
        #expect(messages.last?["message"] as? String == "The assistant could not answer (request test-request-id). Try again later.")
        let ended = s.r.app.send("POST", "/api/chat/\(chatId)/end", token: s.r.editor)
        #expect(!ended.bodyString.contains(Self.marker))
        // The detail is in the server's log, with the request id to find it by.
        #expect(s.r.app.logLines.all.contains { $0.hasPrefix("error: ") && $0.contains("test-request-id") && $0.contains(Self.marker) })
    }

    @Test func aPlatformsRejectionIsNeitherStoredNorReturned() throws {
        let server = try OneShotServer(response: OneShotServer.http(
            "400 Bad Request", #"{"message":"\#(Self.marker): assistant asst-internal-9 has no credits","statusCode":400}"#))
        let s = try ChatSetup()
        try s.r.app.database.pool.write { db in
            try db.execute(sql: "UPDATE assistants SET provider_id = 'remote-1' WHERE id = ?", arguments: [s.assistant])
        }
        // The same database, served as a vapi deployment whose platform is the fake server.
        var config = s.r.app.context.config
        config.provider = .vapi
        config.providerURL = server.url
        config.providerAPIKey = "pk"
        config.allowPrivateURLs = true
        let sink = LogSink()
        let vapi = AppContext(
            config: config, stores: s.r.app.database.stores, clock: s.r.app.clock.clock, ids: CountingIDs().generator,
            passwords: .fastForTests(), log: Logger { sink.append($0) })
        let body = #"{"assistantId":"\#(s.assistant)","message":"When is the application deadline?"}"#
        let response = Router().handle(
            Request(method: "POST", path: "/api/chat", headers: [
                "content-type": "application/json", "content-length": String(body.utf8.count), "cookie": "auth-token=\(s.r.editor)",
            ], body: Array(body.utf8), requestId: "req-platform-1"), vapi)
        #expect(response.status == 502)
        #expect(!response.bodyString.contains(Self.marker))
        let chatId = try onlyConversationId(s.r.app)
        let shown = s.r.app.send("GET", "/api/chat/\(chatId)", token: s.r.viewer)
        #expect(!shown.bodyString.contains(Self.marker))
        #expect((shown.json["messages"] as? [[String: Any]])?.last?["message"] as? String
            == "The assistant could not answer (request req-platform-1). Try again later.")
        #expect(sink.all.contains { $0.hasPrefix("error: ") && $0.contains("req-platform-1") && $0.contains(Self.marker) })
    }
}

@Suite struct DeploymentSecretTests {
    let base = ["EDMO_DATABASE": "/tmp/x.sqlite", "EDMO_SECRET_KEY": String(repeating: "ab", count: 32)]

    @Test func shortSharedSecretsStopTheStartNamingTheVariable() throws {
        for name in ["ANALYTICS_API_KEY", "EDMO_WEBHOOK_SECRET"] {
            for weak in ["hunter2", "e2e-analytics-key", String(repeating: "k", count: 31)] {
                do {
                    _ = try Config.fromEnvironment(base.merging([name: weak]) { $1 })
                    Issue.record("\(name) accepted \(weak.count) characters")
                } catch let error as ConfigError {
                    #expect(error.description.hasPrefix(name), "\(error.description)")
                    #expect(error.description.contains("32"), "\(error.description)")
                    #expect(!error.description.contains(weak), "the error repeats the secret")
                }
            }
            let strong = String(repeating: "k", count: 32)
            let config = try Config.fromEnvironment(base.merging([name: strong]) { $1 })
            #expect((name == "ANALYTICS_API_KEY" ? config.analyticsAPIKey : config.webhookSecret) == strong)
        }
        // Unset stays allowed: the feature is simply off.
        let unset = try Config.fromEnvironment(base)
        #expect(unset.analyticsAPIKey == nil && unset.webhookSecret == nil)
    }

    @Test func theExampleEnvironmentFileDocumentsTheMinimum() throws {
        let example = try String(contentsOf: repoRoot.appendingPathComponent("edmo.env.example"), encoding: .utf8)
        #expect(example.contains("ANALYTICS_API_KEY"))
        #expect(example.contains("at least 32 characters"))
    }
}

@Suite struct AddressGuardTests {
    @Test func reservedTranslatedAndNumericFormsAreRefused() {
        let refused = [
            // IPv4 special-purpose, documentation, benchmarking, multicast, reserved
            "198.18.0.1", "198.19.255.254", "192.0.0.8", "192.0.2.1", "198.51.100.7", "203.0.113.9",
            "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
            // NAT64 with a private v4 inside, NAT64 local-use, 6to4, Teredo, IPv4-compatible
            "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1", "64:ff9b::192.168.1.1",
            "64:ff9b:1::1", "64:ff9b:1:abcd::808:808",
            "2002:7f00:1::1", "2002:808:808::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "::127.0.0.1", "::10.0.0.1", "::a9fe:a9fe",
            // IPv6 documentation, discard-only, site-local, multicast, benchmarking
            "2001:db8::1", "2001:db8:ffff::1", "100::1", "fec0::1", "feff::1", "ff02::1", "ff0e::fb", "2001:2::1", "3fff::1",
            // Numeric hosts that inet_pton rejects but resolvers and curl accept (inet_aton forms)
            "2130706433", "127.1", "0x7f.1", "0177.0.0.1", "0x7f000001", "0x7F.0.0.1", "017700000001", "10.1",
            "0xa9.0xfe.0xa9.0xfe", "3232235777", "0", "127.0.0.1.", "LOCALHOST.", "[::1]", "fe80::1%eth0",
        ]
        for host in refused {
            #expect(AddressGuard.isPrivateHost(host), "\(host)")
        }
        let allowed = [
            "8.8.8.8", "1.1.1.1", "198.17.255.255", "198.20.0.1", "192.0.3.1", "203.0.114.1", "223.255.255.255",
            "134744072",  // 8.8.8.8 as one number
            "64:ff9b::808:808", "64:ff9b::8.8.8.8",  // NAT64 of a public address
            "2606:4700::1111", "2001:4860:4860::8888", "2a00:1450::1", "api.openai.com", "1e100.net", "example.edu",
        ]
        for host in allowed {
            #expect(!AddressGuard.isPrivateHost(host), "\(host)")
        }
    }

    @Test func connectionsToTranslatedAndReservedAddressesAreRefusedAfterDNS() {
        for url in ["http://198.18.0.1:9/", "http://192.0.2.1:9/", "http://2130706433:9/", "http://0x7f.1:9/"] {
            #expect(throws: HTTPClientError.privateAddress, "\(url)") { try HTTPClient().send(method: "GET", url: url) }
        }
    }

    /// The whole IPv6 address is checked on connect, not only the part that fits a 16-byte `sockaddr`.
    /// (Needs an IPv6-capable host: where libcurl does not even try IPv6, it fails otherwise, also fine.)
    @Test func ipv6ConnectionsAreJudgedByTheFullAddress() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", "reached"))
        for host in ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]", "[64:ff9b::7f00:1]", "[::127.0.0.1]"] {
            let url = "http://\(host):\(server.port)/"
            do {
                let response = try HTTPClient().send(method: "GET", url: url)
                Issue.record("\(url) reached a server on this host: \(response.status)")
            } catch let error as HTTPClientError {
                if !Self.ipv6Unsupported(error) { #expect(error == .privateAddress, "\(url)") }
            }
        }
    }

    static func ipv6Unsupported(_ error: HTTPClientError) -> Bool {
        guard case .unreachable = error else { return false }
        return socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0) < 0  // (the probe socket leaks in that case only)
    }

    @Test func toolURLsWithNumericHostFormsAre400() throws {
        let r = try Roles()
        for url in ["http://2130706433/x", "http://127.1/x", "http://0x7f.1/x", "http://0177.0.0.1/x", "http://0x7f000001/x",
                    "http://[64:ff9b::a9fe:a9fe]/latest", "http://198.18.0.1/x"] {
            let api = r.app.send("POST", "/api/tools", json: #"{"type":"apiRequest","method":"GET","url":"\#(url)"}"#, token: r.admin)
            #expect(api.error == "Invalid value for field: url (not this host or a private network)", "\(url)")
        }
    }

    @Test func proxyEnvironmentVariablesAreIgnored() throws {
        let proxy = try OneShotServer(response: OneShotServer.http("200 OK", "via-proxy"))
        let target = try OneShotServer(response: OneShotServer.http("200 OK", "direct"))
        setenv("http_proxy", proxy.url, 1)
        defer {
            unsetenv("http_proxy")
        }
        let response = try HTTPClient.local.send(method: "GET", url: target.url + "/x")
        #expect(String(decoding: response.body, as: UTF8.self) == "direct")
        #expect(proxy.received.withLock { $0 }.isEmpty)
    }
}

@Suite struct LogInjectionTests {
    @Test func controlCharactersInThePathAndMethodAreEscaped() throws {
        let app = try TestApp()
        _ = app.send("GET", "/api/x\nerror: forged line\u{1b}[31m\\end")
        _ = app.send("GE\rT", "/api/auth/me")
        let access = app.logLines.all.filter { $0.hasPrefix("access: ") }
        #expect(access.count == 2)
        for line in app.logLines.all {
            #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1b}"), "\(line)")
        }
        #expect(access.first?.hasPrefix(#"access: GET /api/x\nerror: forged line\x1b[31m\\end 404 "#) == true, "\(access)")
        #expect(access.last?.hasPrefix(#"access: GE\rT /api/auth/me 405 "#) == true, "\(access)")
        #expect(Logger.escape("/api/café/ok") == "/api/café/ok")
        #expect(Logger.escape("a\u{7f}b\u{85}c\u{2028}d\tz") == #"a\x7fb\u{85}c\u{2028}d\tz"#)
    }
}

@Suite struct SmallTalkTests {
    static let smallTalk = [
        "Hello there!", "Hi!", "Hey there", "Good morning", "Good afternoon!", "good evening", "Hiya", "Howdy",
        "Greetings", "Thanks!", "Thank you so much", "thx", "ty", "cheers", "Many thanks", "Hello, how are you?",
        "Hi there, thanks", "hello", "Thanks, that was really helpful!",
    ]
    static let questions = [
        "Hi, when is the application deadline?", "Hello there, how much is tuition?", "Good morning, where do I buy a parking permit?",
        "thanks, and when is the deadline?", "Hey, do you offer scholarships for athletes?",
    ]

    @Test func theRuleKnowsGreetingsAndThanksButNotQuestions() {
        for text in Self.smallTalk { #expect(KnowledgeRules.isSmallTalk(text), "\(text)") }
        for text in Self.questions { #expect(!KnowledgeRules.isSmallTalk(text), "\(text)") }
    }

    @Test func greetingsAndThanksGetAPoliteAnswerAndNoGap() throws {
        let s = try ChatSetup(assistantJSON: #"{"name":"Admissions","model":{"provider":"openai","model":"gpt-4o"},"voice":{}}"#)
        let polite = ["Hello! What would you like to know?", "You're welcome! Is there anything else I can help with?"]
        for text in Self.smallTalk {
            let response = s.chat(text)
            #expect(response.status == 200, "\(text): \(response.bodyString)")
            #expect(polite.contains(response.json["message"] as? String ?? ""), "\(text) -> \(response.bodyString)")
        }
        #expect(s.chat("Hello there!").json["message"] as? String == polite[0])
        #expect(s.chat("Thank you so much").json["message"] as? String == polite[1])
        #expect(s.r.app.send("GET", "/api/knowledge-gaps", token: s.r.viewer).header("X-Total-Count") == "0")
        // A greeting in front of a real question still gets the question answered.
        #expect((s.chat("Hi, when is the application deadline?").json["message"] as? String)?.contains("March 1") == true)
        #expect((s.chat("Hello there, how much is tuition?").json["message"] as? String)?.contains("$12,000") == true)
        // ...and an unknown one is still a gap.
        #expect(s.chat("Hey, do you offer scholarships for athletes?").json["message"] as? String != polite[0])
        #expect(s.r.app.send("GET", "/api/knowledge-gaps", token: s.r.viewer).header("X-Total-Count") == "1")
        // A greeting-only chat ends resolved, not failed.
        let chatId = try #require(s.chat("Hello there!").json["chatId"] as? String)
        #expect(s.r.app.send("POST", "/api/chat/\(chatId)/end", token: s.r.editor).json["resolution"] as? String == "resolved")
    }

    @Test func aModelsUnknownMarkerOnSmallTalkIsNoGap() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", #"{"choices":[{"message":{"content":"[[UNKNOWN]] Hello! How can I help?"}}]}"#))
        let s = try ChatSetup(configure: { $0.openAIBaseURL = server.url; $0.openAIKey = "sk"; $0.allowPrivateURLs = true })
        let response = s.chat("Hello there!")
        #expect(response.status == 200)
        #expect(response.json["message"] as? String == "Hello! How can I help?")
        #expect(s.r.app.send("GET", "/api/knowledge-gaps", token: s.r.viewer).header("X-Total-Count") == "0")
    }
}

@Suite struct CapacityGateTests {
    @Test func aHashThatCannotGetASlotThrowsBusyAfterABoundedWait() throws {
        let hasher = PasswordHasher.fastForTests(concurrency: 1, waitSeconds: 0.2)
        let hash = try hasher.hash("correct horse")
        try hasher.holdingSlot {
            let started = Date()
            #expect(throws: ServerBusyError.self) { try hasher.hash("x") }
            #expect(throws: ServerBusyError.self) { try hasher.verify("correct horse", hash: hash) }
            #expect(throws: ServerBusyError.self) { try hasher.verifyAgainstDummy("x") }
            let waited = Date().timeIntervalSince(started)
            #expect(waited >= 0.5 && waited < 2, "\(waited)")
        }
        // Free again; the failed dummy was not cached as an empty hash (which would verify instantly).
        #expect(try hasher.verify("correct horse", hash: hash))
        try hasher.verifyAgainstDummy("x")
    }

    @Test func aLoginThatCannotGetAHashSlotIs503WithRetryAfterAndIsNoFailure() throws {
        let hasher = PasswordHasher.fastForTests(concurrency: 1, waitSeconds: 0.1)
        let app = try TestApp(passwords: hasher)
        try app.addUser("admin@example.edu")
        try hasher.holdingSlot {
            for email in ["admin@example.edu", "nobody@example.edu"] {
                for _ in 0..<6 {
                    let response = app.send("POST", "/api/auth/login", json: #"{"email":"\#(email)","password":"wrong-password"}"#)
                    #expect(response.status == 503)
                    #expect(response.error == "The server is busy; try again shortly")
                    #expect(response.header("Retry-After") == "1")
                }
            }
        }
        // Six busy answers are not six failed logins: the account is not locked.
        #expect(try !app.login("admin@example.edu").isEmpty)
    }

    @Test func busyOutboundCallsAre503WhileReadsGoOn() throws {
        let server = try OneShotServer(
            response: OneShotServer.http("200 OK", #"{"choices":[{"message":{"content":"Applications close on March 1."}}]}"#), delay: 3)
        let s = try ChatSetup(configure: {
            $0.openAIBaseURL = server.url; $0.openAIKey = "sk"; $0.allowPrivateURLs = true; $0.outboundConcurrency = 1
        })
        let first = Mutex<Response?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let response = s.chat("When is the application deadline?")
            first.withLock { $0 = response }
            finished.signal()
        }
        let deadline = Date().addingTimeInterval(5)
        while server.received.withLock({ $0.isEmpty }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(!server.received.withLock { $0 }.isEmpty, "the first call never reached the model")

        let started = Date()
        let second = s.chat("How much is tuition?")
        #expect(second.status == 503)
        #expect(second.error == "The server is busy; try again shortly")
        #expect(second.header("Retry-After") == "1")
        #expect(Date().timeIntervalSince(started) < 2.5)
        // Reads, and chats that need no outbound call, do not wait for the model.
        #expect(s.r.app.send("GET", "/api/assistants", token: s.r.viewer).status == 200)
        #expect(s.r.app.send("GET", "/api/knowledge-gaps", token: s.r.viewer).status == 200)
        #expect(Date().timeIntervalSince(started) < 2.5)

        finished.wait()
        #expect(first.withLock { $0 }?.status == 200)
        #expect(first.withLock { $0 }?.json["message"] as? String == "Applications close on March 1.")
    }

    @Test func settingsAndDefaults() throws {
        let base = ["EDMO_DATABASE": "/tmp/x.sqlite", "EDMO_SECRET_KEY": String(repeating: "ab", count: 32)]
        var config = try Config.fromEnvironment(base.merging(["EDMO_WORKERS": "16"]) { $1 })
        #expect(config.hashWaitSeconds == 2)
        #expect(config.outboundLimit == 8)
        config.workers = 1
        #expect(config.outboundLimit == 1)
        config = try Config.fromEnvironment(base.merging(["EDMO_OUTBOUND_CONCURRENCY": "3", "EDMO_HASH_WAIT_SECONDS": "5"]) { $1 })
        #expect(config.outboundLimit == 3)
        #expect(config.hashWaitSeconds == 5)
        let context = AppContext(config: config, stores: try EdmoDatabase(path: makeTempDirectory() + "/x.sqlite").stores, log: .silent)
        #expect(context.outbound.limit == 3)
        for (name, bad) in [("EDMO_OUTBOUND_CONCURRENCY", "0"), ("EDMO_OUTBOUND_CONCURRENCY", "lots"), ("EDMO_HASH_WAIT_SECONDS", "-1"), ("EDMO_HASH_WAIT_SECONDS", "61")] {
            #expect(throws: ConfigError.self, "\(name)=\(bad)") { try Config.fromEnvironment(base.merging([name: bad]) { $1 }) }
        }
    }
}
