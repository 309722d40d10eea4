import Foundation

/// Failed logins are counted per account and per client address within a window; past the limit the key
/// is locked and logins answer 429 with Retry-After. Counters live in the database, so every FastCGI
/// process (and a restart) sees the same ones.
struct LoginThrottle {
    let context: AppContext

    var window: TimeInterval { TimeInterval(context.config.loginLockoutSeconds) }

    func check(_ keys: [String]) throws {
        let now = context.now
        for key in keys {
            if let until = try context.accounts.loginLockedUntil(key: key), until > now {
                throw APIError.tooManyRequests(retryAfter: Int(until.timeIntervalSince(now).rounded(.up)))
            }
        }
    }

    func recordFailure(_ keys: [String]) throws {
        for key in keys {
            let limit = key.hasPrefix("account:") ? context.config.loginMaxFailures : context.config.loginAddressMaxFailures
            try context.accounts.recordLoginFailure(key: key, now: context.now, window: window, maxFailures: limit, lockout: window)
        }
    }

    /// A success clears the account's counter; the address keeps its count (one good password must not
    /// reset a spray across many accounts).
    func recordSuccess(_ keys: [String]) throws {
        for key in keys where key.hasPrefix("account:") { try context.accounts.clearLoginFailures(key: key) }
    }
}
