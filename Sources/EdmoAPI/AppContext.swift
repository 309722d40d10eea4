import Foundation

/// Everything a handler needs, built once per process in `main` (or per test with a temp database,
/// a pinned clock and counting ids). No globals.
public struct AppContext: Sendable {
    public var config: Config
    public var database: EdmoDatabase
    public var accounts: any AccountStore
    public var clock: Clock
    public var ids: IDGenerator
    public var passwords: PasswordHasher
    public var log: Logger

    public init(
        config: Config, database: EdmoDatabase, clock: Clock = .system, ids: IDGenerator = .random,
        passwords: PasswordHasher? = nil, log: Logger = .stderr
    ) {
        self.config = config
        self.database = database
        self.accounts = SQLiteAccountStore(database: database)
        self.clock = clock
        self.ids = ids
        self.passwords = passwords ?? PasswordHasher(concurrency: config.hashConcurrency)
        self.log = log
    }

    public var now: Date { clock.now() }
}

public struct Clock: Sendable {
    public var now: @Sendable () -> Date
    public init(now: @escaping @Sendable () -> Date) { self.now = now }
    public static let system = Clock { Date() }
}

public struct IDGenerator: Sendable {
    public var next: @Sendable (_ prefix: String) -> String
    public init(next: @escaping @Sendable (String) -> String) { self.next = next }
    /// `usr_` + 24 hex characters (96 random bits).
    public static let random = IDGenerator { prefix in "\(prefix)_\(Tokens.randomHex(bytes: 12))" }
}
