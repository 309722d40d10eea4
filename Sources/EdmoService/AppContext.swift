import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Everything a handler needs, built once per process in `main` (or per test with a temp database,
/// a pinned clock and counting ids). No globals.
public struct AppContext: Sendable {
    public var config: Config
    public var accounts: any AccountStore
    public var resources: any ResourceStore
    public var chats: any ChatStore
    public var analytics: any AnalyticsStore
    /// The audit log; write to it through `AuditTrail.record`.
    public var audit: any AuditStore
    /// Outbound events: endpoints, the outbox, deliveries.
    public var webhooks: any WebhookStore
    /// Idempotency-Key rows (see `Idempotency` in EdmoAPI).
    public var idempotency: any IdempotencyStore
    /// The store's own check (`GET /api/health`, the metrics' queue depths); see `Stores.health`.
    public var health: (any StoreHealth)?
    /// This process's metrics (`/metrics`): the router, the FastCGI workers and the stores report to it.
    public var metrics: Metrics
    /// Runs the health checks with a deadline, one at a time.
    public var storeChecks = StoreChecks()
    /// The voice platform when `EDMO_PROVIDER=vapi`; nil in local mode.
    public var platform: (any VoicePlatformAPI)?
    /// Seals stored credentials (opening with the previous key too during a rotation); nil for commands
    /// started without EDMO_SECRET_KEY (migrate, users).
    public var secrets: SecretBox?
    /// Names this process in `provider_operations`, so a restart can tell its own leftovers.
    public var owner: String
    public var clock: Clock
    public var ids: IDGenerator
    public var passwords: PasswordHasher
    /// At most `config.outboundLimit` worker threads inside outbound calls (language models, voice
    /// platform) at once, so slow upstreams cannot take every worker; the rest fail fast with a 503.
    public var outbound: CapacityGate
    /// At most `config.chatStreamLimit` streamed chat answers at once; one more is a 503 at once (no wait).
    public var chatStreams: CapacityGate
    public var log: Logger
    /// Says "storage is full" in the log at most once a minute.
    public var storageAlarm = StorageAlarm()
    /// Orders concurrent PATCHes of one resource in this process (see `OptimisticWrite`).
    public var writeTurns = WriteTurns()

    /// How long an outbound call waits for a free slot before its request gets a 503.
    public static let outboundWaitSeconds: TimeInterval = 1

    public init(
        config: Config, stores: Stores, clock: Clock = .system, ids: IDGenerator = .timeOrdered,
        passwords: PasswordHasher? = nil, log: Logger = .stderr, metrics: Metrics = Metrics()
    ) {
        self.config = config
        self.accounts = stores.accounts
        self.resources = stores.resources
        self.chats = stores.chats
        self.analytics = stores.analytics
        self.audit = stores.audit
        self.webhooks = stores.webhooks
        self.idempotency = stores.idempotency
        self.health = stores.health
        self.metrics = metrics
        let outbound = CapacityGate(limit: config.outboundLimit, resource: "outbound calls", waitSeconds: Self.outboundWaitSeconds)
        self.outbound = outbound
        self.chatStreams = CapacityGate(limit: config.chatStreamLimit, resource: "chat stream", waitSeconds: 0)
        if config.provider == .vapi, let url = config.providerURL, let key = config.providerAPIKey {
            var http = HTTPClient()
            http.totalTimeout = TimeInterval(config.providerTimeoutSeconds)
            http.allowPrivateNetworks = config.allowPrivateURLs
            http.gate = outbound
            self.platform = VoicePlatform(baseURL: url, apiKey: key, http: http)
        }
        self.secrets = config.secretKey.count == 32 ? SecretBox(key: config.secretKey, previous: config.previousSecretKey) : nil
        self.owner = "\(ProcessInfo.processInfo.hostName)/\(getpid())"
        self.clock = clock
        self.ids = ids
        self.passwords = passwords
            ?? PasswordHasher(
                concurrency: config.hashConcurrency, waitSeconds: TimeInterval(config.hashWaitSeconds),
                // Hashing and queueing for it hold fewer than half the workers, outbound calls at most half
                // (`outboundLimit`): at least one worker is always left for everything else.
                maxWaiting: config.workers / 2 - 1 - config.hashConcurrency)
        self.log = log
    }

    public var now: Date { clock.now() }

    /// The language model API for an assistant's `model.provider`, when configured (a key, or a base URL
    /// for servers that need none); nil means the built-in engine answers.
    public func llm(for provider: AssistantConfig.ModelConfig.Provider) -> LLMClient? {
        var http = HTTPClient()
        http.totalTimeout = TimeInterval(config.llmTimeoutSeconds)
        http.allowPrivateNetworks = config.allowPrivateURLs
        http.gate = outbound
        switch provider {
        case .openai:
            guard config.openAIKey != nil || config.openAIBaseURL != nil else { return nil }
            return LLMClient(kind: .openai, baseURL: config.openAIBaseURL ?? "https://api.openai.com/v1", apiKey: config.openAIKey, http: http)
        case .anthropic:
            guard config.anthropicKey != nil || config.anthropicBaseURL != nil else { return nil }
            return LLMClient(kind: .anthropic, baseURL: config.anthropicBaseURL ?? "https://api.anthropic.com", apiKey: config.anthropicKey, http: http)
        }
    }

    /// Ends and analyses chats idle for EDMO_CHAT_IDLE_SECONDS.
    public func closeIdleConversations() { ConversationAnalysis.closeIdle(self) }

    /// Settles provider writes a crashed process left half done (vapi mode); run once at start.
    public func recoverProviderOperations() { ProviderSync(context: self).recover() }

    public func seal(_ plaintext: [UInt8]) throws -> [UInt8] {
        guard let secrets else { throw CredentialError("EDMO_SECRET_KEY is not configured") }
        return secrets.seal(plaintext)
    }

    public func unseal(_ sealed: [UInt8]) throws -> [UInt8] {
        guard let secrets, let plain = secrets.open(sealed) else {
            throw CredentialError(
                "A stored credential cannot be decrypted with the configured EDMO_SECRET_KEY (nor EDMO_SECRET_KEY_PREVIOUS)")
        }
        return plain
    }
}

public struct Clock: Sendable {
    public var now: @Sendable () -> Date
    public init(now: @escaping @Sendable () -> Date) { self.now = now }
    public static let system = Clock { Date() }
}

public struct IDGenerator: Sendable {
    public var next: @Sendable (_ prefix: String) -> String
    public init(next: @escaping @Sendable (String) -> String) { self.next = next }
    /// `usr_` + 24 hex characters: the time in milliseconds since 1970 (11, until the year 2527), then 52
    /// random bits (13). A later id sorts after an earlier one, so a new row's entry in an id index (every
    /// table's primary key, the audit log's) goes where the last one went instead of at a random page of
    /// it: a burst of writes dirties, and each commit writes, one page per index instead of one per row
    /// (bench/README "Issue 14, session 8"). Ids are not secrets: every route checks the caller's rights.
    public static let timeOrdered = IDGenerator { prefix in
        let milliseconds = UInt64(max(Date().timeIntervalSince1970, 0) * 1000)
        let time = String(milliseconds & 0xFFF_FFFF_FFFF, radix: 16)
        let random = Tokens.randomHex(bytes: 7).dropFirst()
        return prefix + "_" + String(repeating: "0", count: 11 - time.count) + time + random
    }
}

/// A stored credential cannot be sealed or opened with the configured key: an operator's problem (500).
public struct CredentialError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
