import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
}

/// Settings from the environment (systemd reads them from an EnvironmentFile). Every variable is listed in
/// README.md and edmo.env.example.
public struct Config: Sendable {
    public enum ProviderKind: String, Sendable { case local, vapi }

    /// `EDMO_DATABASE`: a SQLite file's path, or a PostgreSQL URL (`postgres://...`) or libpq
    /// `key=value` string (see `Config.isPostgres`).
    public var database: String
    /// Connections to PostgreSQL this process holds at most (`EDMO_DATABASE_POOL`); nil: workers + 2, one
    /// per worker thread and one each for the background sweeps.
    public var databasePoolSize: Int?
    /// `EDMO_SECRET_KEY` (or `_FILE`): seals and opens stored credentials; empty for commands that need none.
    public var secretKey: [UInt8]
    /// `EDMO_SECRET_KEY_PREVIOUS` (or `_FILE`): during a rotation, the key being retired; it opens, never seals.
    public var previousSecretKey: [UInt8]?
    public var analyticsAPIKey: String?
    public var webhookSecret: String?
    public var provider: ProviderKind = .local
    public var providerURL: String?
    public var providerAPIKey: String?
    public var providerTimeoutSeconds: Int = 15
    public var openAIKey: String?
    public var openAIBaseURL: String?
    public var anthropicKey: String?
    public var anthropicBaseURL: String?
    public var llmTimeoutSeconds: Int = 30
    /// How long an Idempotency-Key's first request may run before a retry is told it was interrupted (its
    /// process stopped before storing a response). Longer than any request: the outbound timeouts and more.
    public var idempotencyLeaseSeconds: Int = 300
    public var chatIdleSeconds: Int = 1800
    public var chatMaxMessageChars: Int = 4000
    public var chatHistoryMessages: Int = 20
    public var minutesSavedPerResolved: Int = 5
    /// Outbound events: the first retry's delay (doubling, at most 480 times it), attempts before a delivery
    /// fails, each attempt's timeout, the delivery threads' poll interval and count (README "Outbound events").
    public var eventRetryBaseMilliseconds = 30_000
    public var eventMaxAttempts = 16
    public var eventTimeoutMilliseconds = 10_000
    public var eventPollMilliseconds = 1_000
    public var eventWorkers = 2
    /// Days delivered, failed and cancelled deliveries (and their events) are kept (`EDMO_EVENT_RETENTION_DAYS`).
    public var eventRetentionDays = 30
    /// Outbound requests and tool URLs may name this host or private networks (off by default: SSRF).
    public var allowPrivateURLs = false
    public var workers: Int = 2 * ProcessInfo.processInfo.activeProcessorCount
    public var maxBodyBytes: Int = 1 << 20
    public var sessionIdleSeconds: Int = 86_400
    public var sessionMaxSeconds: Int = 604_800
    public var loginMaxFailures: Int = 5
    public var loginAddressMaxFailures: Int = 20
    public var loginLockoutSeconds: Int = 900
    /// Failures on one account from all addresses before strangers (addresses that never logged in to it)
    /// are slowed down with a growing Retry-After; its owner is never locked out by them.
    public var loginAccountMaxFailures: Int = 50
    /// Failures from one IPv6 /64 (one customer's network) before it is locked like one address.
    public var loginNetworkMaxFailures: Int = 100
    /// Seconds between two phone-number syncs with the voice platform (claimed in the database).
    public var phoneSyncSeconds: Int = 60
    public var hashConcurrency: Int = 2
    /// How long a login or password change waits for a free hashing slot before a 503.
    public var hashWaitSeconds: Int = 2
    /// Worker threads allowed inside outbound calls (language models, voice platform) at once; nil means
    /// half the workers (at least one). See `outboundLimit`.
    public var outboundConcurrency: Int?
    /// Streamed chat answers (`POST /api/chat` with `stream`) this process serves at once
    /// (`EDMO_MAX_CHAT_STREAMS`); nil means a quarter of the workers (at least one). See `chatStreamLimit`.
    public var maxChatStreams: Int?
    public var migrationsPath: String?
    /// Days an audit-log entry is kept (`EDMO_AUDIT_RETENTION_DAYS`); 0 keeps every entry.
    public var auditRetentionDays: Int = 365
    /// `EDMO_RETENTION_DAYS`: days conversations are kept in organisations without a setting of their own;
    /// nil (unset or 0) keeps them forever.
    public var retentionDays: Int?

    /// Shared secrets (`ANALYTICS_API_KEY`, `EDMO_WEBHOOK_SECRET`) must be at least this long.
    public static let minimumSecretLength = 32

    /// The outbound gate's size: `EDMO_OUTBOUND_CONCURRENCY`, else max(1, workers / 2).
    public var outboundLimit: Int { outboundConcurrency ?? max(1, workers / 2) }

    /// The chat-stream cap: `EDMO_MAX_CHAT_STREAMS`, else max(1, workers / 4). A stream holds its worker
    /// thread for the whole answer, so streams may take only part of the workers.
    public var chatStreamLimit: Int { maxChatStreams ?? max(1, workers / 4) }

    public init(database: String, secretKey: [UInt8]) {
        self.database = database
        self.secretKey = secretKey
    }

    /// Whether `database` names a PostgreSQL server rather than a SQLite file.
    public var isPostgres: Bool {
        database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")
            || database.range(of: #"^[a-z_]+\s*="#, options: .regularExpression) != nil
    }

    /// One connection per worker, one each for the background sweeps, and one per delivery thread of
    /// outbound events (which hold one only to claim and to record, never while posting).
    public var poolSize: Int { databasePoolSize ?? workers + 2 + eventWorkers }

    /// `needsSecretKey` is false for commands that never touch stored secrets (`migrate`, `users`).
    public static func fromEnvironment(_ env: [String: String], needsSecretKey: Bool = true) throws -> Config {
        guard let database = nonEmpty(env["EDMO_DATABASE"]) else {
            throw ConfigError(description: "EDMO_DATABASE is not set: give the path of the SQLite database file, or a postgres:// URL")
        }
        let key = try secretKey(env, "EDMO_SECRET_KEY")
        if key == nil && needsSecretKey {
            throw ConfigError(
                description: "EDMO_SECRET_KEY is not set: 64 hex characters (32 bytes), or EDMO_SECRET_KEY_FILE naming a file that holds them; try `openssl rand -hex 32`")
        }
        var config = Config(database: database, secretKey: key ?? [])
        config.previousSecretKey = try secretKey(env, "EDMO_SECRET_KEY_PREVIOUS")
        config.analyticsAPIKey = try sharedSecret(env, "ANALYTICS_API_KEY")
        config.webhookSecret = try sharedSecret(env, "EDMO_WEBHOOK_SECRET")
        if let raw = nonEmpty(env["EDMO_PROVIDER"]) {
            guard let kind = ProviderKind(rawValue: raw) else {
                throw ConfigError(description: "EDMO_PROVIDER must be 'local' or 'vapi', not '\(raw)'")
            }
            config.provider = kind
        }
        config.providerURL = nonEmpty(env["EDMO_PROVIDER_URL"])
        config.providerAPIKey = nonEmpty(env["EDMO_PROVIDER_API_KEY"])
        if config.provider == .vapi {
            guard let url = config.providerURL, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigError(description: "EDMO_PROVIDER_URL must be an http(s) URL when EDMO_PROVIDER=vapi")
            }
            guard config.providerAPIKey != nil else {
                throw ConfigError(description: "EDMO_PROVIDER_API_KEY is not set (required when EDMO_PROVIDER=vapi)")
            }
        }
        config.allowPrivateURLs = ["1", "true", "yes"].contains(env["EDMO_ALLOW_PRIVATE_URLS"]?.lowercased() ?? "")
        config.openAIKey = nonEmpty(env["OPENAI_API_KEY"])
        config.openAIBaseURL = nonEmpty(env["OPENAI_BASE_URL"])
        config.anthropicKey = nonEmpty(env["ANTHROPIC_API_KEY"])
        config.anthropicBaseURL = nonEmpty(env["ANTHROPIC_BASE_URL"])
        for (name, url) in [("OPENAI_BASE_URL", config.openAIBaseURL), ("ANTHROPIC_BASE_URL", config.anthropicBaseURL)] {
            if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                throw ConfigError(description: "\(name) must be an http(s) URL, not '\(url)'")
            }
        }
        try integer(env, "EDMO_LLM_TIMEOUT_SECONDS", 1...600) { config.llmTimeoutSeconds = $0 }
        try integer(env, "EDMO_IDEMPOTENCY_LEASE_SECONDS", 1...86_400) { config.idempotencyLeaseSeconds = $0 }
        try integer(env, "EDMO_MINUTES_SAVED_PER_RESOLVED", 0...600) { config.minutesSavedPerResolved = $0 }
        try integer(env, "EDMO_CHAT_IDLE_SECONDS", 60...86_400) { config.chatIdleSeconds = $0 }
        try integer(env, "EDMO_CHAT_MAX_MESSAGE_CHARS", 100...100_000) { config.chatMaxMessageChars = $0 }
        try integer(env, "EDMO_CHAT_HISTORY_MESSAGES", 2...200) { config.chatHistoryMessages = $0 }
        try integer(env, "EDMO_PROVIDER_TIMEOUT_SECONDS", 1...120) { config.providerTimeoutSeconds = $0 }
        try integer(env, "EDMO_WORKERS", 1...4096) { config.workers = $0 }
        try integer(env, "EDMO_DATABASE_POOL", 1...1000) { config.databasePoolSize = $0 }
        try integer(env, "EDMO_MAX_BODY_BYTES", 1024...(64 << 20)) { config.maxBodyBytes = $0 }
        try integer(env, "EDMO_SESSION_IDLE_SECONDS", 60...31_536_000) { config.sessionIdleSeconds = $0 }
        try integer(env, "EDMO_SESSION_MAX_SECONDS", 60...31_536_000) { config.sessionMaxSeconds = $0 }
        try integer(env, "EDMO_LOGIN_MAX_FAILURES", 1...1000) { config.loginMaxFailures = $0 }
        try integer(env, "EDMO_LOGIN_ADDRESS_MAX_FAILURES", 1...100_000) { config.loginAddressMaxFailures = $0 }
        try integer(env, "EDMO_LOGIN_LOCKOUT_SECONDS", 1...86_400) { config.loginLockoutSeconds = $0 }
        try integer(env, "EDMO_LOGIN_ACCOUNT_MAX_FAILURES", 1...100_000) { config.loginAccountMaxFailures = $0 }
        try integer(env, "EDMO_LOGIN_NETWORK_MAX_FAILURES", 1...1_000_000) { config.loginNetworkMaxFailures = $0 }
        try integer(env, "EDMO_PHONE_SYNC_SECONDS", 0...86_400) { config.phoneSyncSeconds = $0 }
        try integer(env, "EDMO_HASH_CONCURRENCY", 1...64) { config.hashConcurrency = $0 }
        try integer(env, "EDMO_HASH_WAIT_SECONDS", 0...60) { config.hashWaitSeconds = $0 }
        try integer(env, "EDMO_OUTBOUND_CONCURRENCY", 1...4096) { config.outboundConcurrency = $0 }
        try integer(env, "EDMO_MAX_CHAT_STREAMS", 1...4096) { config.maxChatStreams = $0 }
        try integer(env, "EDMO_AUDIT_RETENTION_DAYS", 0...36_500) { config.auditRetentionDays = $0 }
        try integer(env, "EDMO_RETENTION_DAYS", 0...36_500) { config.retentionDays = $0 == 0 ? nil : $0 }
        try integer(env, "EDMO_EVENT_RETRY_BASE_MS", 1...3_600_000) { config.eventRetryBaseMilliseconds = $0 }
        try integer(env, "EDMO_EVENT_MAX_ATTEMPTS", 1...100) { config.eventMaxAttempts = $0 }
        try integer(env, "EDMO_EVENT_TIMEOUT_MS", 100...60_000) { config.eventTimeoutMilliseconds = $0 }
        try integer(env, "EDMO_EVENT_POLL_MS", 10...60_000) { config.eventPollMilliseconds = $0 }
        try integer(env, "EDMO_EVENT_WORKERS", 0...64) { config.eventWorkers = $0 }
        try integer(env, "EDMO_EVENT_RETENTION_DAYS", 1...36_500) { config.eventRetentionDays = $0 }
        config.migrationsPath = nonEmpty(env["EDMO_MIGRATIONS"])
        return config
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return value
    }

    /// A shared secret is optional (unset turns its feature off) but, when set, long enough not to be guessed.
    /// The message names the variable and never repeats the value.
    private static func sharedSecret(_ env: [String: String], _ name: String) throws -> String? {
        guard let value = nonEmpty(env[name]) else { return nil }
        let length = value.trimmingCharacters(in: .whitespaces).count
        guard length >= minimumSecretLength else {
            throw ConfigError(description: "\(name) must be at least \(minimumSecretLength) characters (it has \(length)); try `openssl rand -hex 32`")
        }
        return value
    }

    private static func integer(
        _ env: [String: String], _ name: String, _ range: ClosedRange<Int>, _ set: (Int) -> Void
    ) throws {
        guard let raw = nonEmpty(env[name]) else { return }
        guard let value = Int(raw), range.contains(value) else {
            throw ConfigError(description: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), not '\(raw)'")
        }
        set(value)
    }

    public static func decodeHex(_ hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        for i in stride(from: 0, to: chars.count, by: 2) {
            guard let byte = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }
}
