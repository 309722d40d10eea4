import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Failed logins are counted in the database (every process and host sees the same counters), keyed on
/// SHA-256 hashes so that a row has a fixed size whatever a client sends:
/// - the pair (account, client address): locked after EDMO_LOGIN_MAX_FAILURES, so one address cannot go on
///   guessing one password, while the owner elsewhere still logs in;
/// - the client address, and for IPv6 also its /64 (one customer network): locked past their limits, so a
///   spray across many accounts stops;
/// - the account from all addresses: past EDMO_LOGIN_ACCOUNT_MAX_FAILURES, addresses that never logged in
///   to it get 429 with a Retry-After that doubles with each further failure (up to the lockout window);
///   addresses it logged in from before are not slowed, so strangers cannot lock an owner out.
/// No worker ever sleeps: a throttled login is a 429 at once.
public struct LoginThrottle {
    public let context: AppContext
    /// The counters' keys, hashed once per login.
    let pairKey, accountKey, addressKey, knownAddressKey: String
    let networkKey: String?

    public init(context: AppContext, email: String, address: String) {
        self.context = context
        let network = Self.ipv6Network(address)
        pairKey = Tokens.sha256Hex("pair\n\(email)\n\(address)")
        accountKey = Tokens.sha256Hex("account\n\(email)")
        addressKey = Tokens.sha256Hex("address\n\(address)")
        networkKey = network.map { Tokens.sha256Hex("network\n\($0)") }
        // For IPv6 the /64: privacy addresses rotate within it, and the owner must stay known.
        knownAddressKey = Tokens.sha256Hex("known\n\(email)\n\(network ?? address)")
    }

    var window: TimeInterval { TimeInterval(context.config.loginLockoutSeconds) }

    public func check() throws {
        let now = context.now
        var keys = [pairKey, addressKey, accountKey]
        if let networkKey { keys.append(networkKey) }
        var locks = try context.accounts.loginLocks(keys: keys, now: now)
        if locks[accountKey] != nil, try context.accounts.isKnownLoginAddress(knownAddressKey) {
            locks.removeValue(forKey: accountKey)
        }
        if let until = locks.values.max() {
            throw LoginThrottled(retryAfter: Int(until.timeIntervalSince(now).rounded(.up)))
        }
    }

    public func recordFailure() throws {
        let config = context.config
        let window = self.window
        var counters = [
            LoginCounter(key: pairKey, lock: Self.lockAt(config.loginMaxFailures, for: window)),
            LoginCounter(key: addressKey, lock: Self.lockAt(config.loginAddressMaxFailures, for: window)),
            LoginCounter(key: accountKey) { failures in
                // 1 s at the threshold, then 2, 4, 8 ... up to the window.
                let over = failures - config.loginAccountMaxFailures
                return over < 0 ? nil : min(window, pow(2, Double(min(over, 30))))
            },
        ]
        if let networkKey {
            counters.append(LoginCounter(key: networkKey, lock: Self.lockAt(config.loginNetworkMaxFailures, for: window)))
        }
        try context.accounts.recordLoginFailures(counters, now: context.now, window: window)
    }

    /// A success clears this pair's and the account's counters and remembers the address for the account.
    /// The address keeps its count: one good password must not reset a spray across many accounts.
    public func recordSuccess() throws {
        try context.accounts.recordLoginSuccess(clearing: [pairKey, accountKey], knownAddress: knownAddressKey, now: context.now)
    }

    public static func lockAt(_ limit: Int, for lockout: TimeInterval) -> @Sendable (Int) -> TimeInterval? {
        { failures in failures >= limit ? lockout : nil }
    }

    /// The /64 of an IPv6 address as its first 8 bytes in hex; nil for IPv4 and IPv4-mapped addresses.
    public static func ipv6Network(_ address: String) -> String? {
        var v6 = in6_addr()
        guard address.contains(":"), inet_pton(AF_INET6, address, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff { return nil }
        return bytes[0..<8].map { String(format: "%02x", $0) }.joined()
    }

}

/// Too many failed logins for this account, address or network: try again in `retryAfter` seconds.
public struct LoginThrottled: Error, Equatable, Sendable {
    public var retryAfter: Int
}
