import EdmoCore
import EdmoProviders
import EdmoStore
import CSodium
import Foundation
import Synchronization

/// argon2id via `crypto_pwhash_str`. Each hash or verify takes ~75 ms and 64 MiB at the interactive limits,
/// so at most `concurrency` run at once (`EDMO_HASH_CONCURRENCY`): a burst of logins queues instead of
/// exhausting memory, but only for `waitSeconds` (`EDMO_HASH_WAIT_SECONDS`); after that the call throws
/// `ServerBusyError` (a 503 with Retry-After) and the worker thread is free again.
public final class PasswordHasher: Sendable {
    /// The hashing slots (their use and queue are in the metrics).
    public let gate: CapacityGate
    private let opsLimit: UInt64
    private let memLimit: Int
    private let dummy = Mutex<String?>(nil)

    /// `maxWaiting`: how many may queue for a slot (see `CapacityGate`).
    public init(concurrency: Int, waitSeconds: TimeInterval = 2, maxWaiting: Int? = nil, opsLimit: UInt64? = nil, memLimit: Int? = nil) {
        Tokens.ensureSodium()
        gate = CapacityGate(limit: concurrency, resource: "password hashing", waitSeconds: waitSeconds, maxWaiting: maxWaiting)
        self.opsLimit = opsLimit ?? UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE)
        self.memLimit = memLimit ?? Int(crypto_pwhash_MEMLIMIT_INTERACTIVE)
    }

    /// The cheapest settings libsodium allows: for tests only.
    public static func fastForTests(concurrency: Int = 4, waitSeconds: TimeInterval = 2) -> PasswordHasher {
        PasswordHasher(
            concurrency: concurrency, waitSeconds: waitSeconds,
            opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MIN), memLimit: Int(crypto_pwhash_MEMLIMIT_MIN))
    }

    /// New passwords come from signed-in users (an admin creating users, a password change), who cannot
    /// flood: they wait for a slot without the queue limit that sheds login floods.
    public func hash(_ password: String) throws -> String {
        try gate.run(queueLimited: false) {
            var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
            let rc = password.withCString { chars in
                crypto_pwhash_str(&out, chars, UInt64(password.utf8.count), opsLimit, memLimit)
            }
            guard rc == 0 else { throw HasherError.outOfMemory }
            return String(cString: out)
        }
    }

    /// False for a wrong password; throws `ServerBusyError` when no hashing slot frees up in time.
    public func verify(_ password: String, hash: String) throws -> Bool {
        try gate.run {
            password.withCString { chars in
                crypto_pwhash_str_verify(hash, chars, UInt64(password.utf8.count)) == 0
            }
        }
    }

    /// Spends the same time as a real verify, so an unknown email cannot be told apart by timing. The dummy
    /// hash is made once; a failure to make it (busy) is thrown, never cached.
    public func verifyAgainstDummy(_ password: String) throws {
        let hash = try dummy.withLock { cached -> String in
            if let cached { return cached }
            let made = try self.hash(Tokens.randomHex(bytes: 16))
            cached = made
            return made
        }
        _ = try verify(password, hash: hash)
    }

    /// Holds one hashing slot while `body` runs: lets tests fill the gate.
    public func holdingSlot<T>(_ body: () throws -> T) throws -> T { try gate.run(body) }

    public enum HasherError: Error { case outOfMemory }
}
