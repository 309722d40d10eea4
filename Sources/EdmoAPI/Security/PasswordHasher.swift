import CSodium
import Foundation
import Synchronization

/// argon2id via `crypto_pwhash_str`. Each hash or verify takes ~75 ms and 64 MiB at the interactive limits,
/// so at most `concurrency` run at once: a burst of logins queues instead of exhausting memory.
public final class PasswordHasher: Sendable {
    private let gate: DispatchSemaphore
    private let opsLimit: UInt64
    private let memLimit: Int
    private let dummy = Mutex<String?>(nil)

    public init(concurrency: Int, opsLimit: UInt64? = nil, memLimit: Int? = nil) {
        Tokens.ensureSodium()
        gate = DispatchSemaphore(value: max(1, concurrency))
        self.opsLimit = opsLimit ?? UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE)
        self.memLimit = memLimit ?? Int(crypto_pwhash_MEMLIMIT_INTERACTIVE)
    }

    /// The cheapest settings libsodium allows: for tests only.
    public static func fastForTests() -> PasswordHasher {
        PasswordHasher(concurrency: 4, opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MIN), memLimit: Int(crypto_pwhash_MEMLIMIT_MIN))
    }

    public func hash(_ password: String) throws -> String {
        gate.wait()
        defer { gate.signal() }
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let rc = password.withCString { chars in
            crypto_pwhash_str(&out, chars, UInt64(password.utf8.count), opsLimit, memLimit)
        }
        guard rc == 0 else { throw HasherError.outOfMemory }
        return String(cString: out)
    }

    public func verify(_ password: String, hash: String) -> Bool {
        gate.wait()
        defer { gate.signal() }
        return password.withCString { chars in
            crypto_pwhash_str_verify(hash, chars, UInt64(password.utf8.count)) == 0
        }
    }

    /// Spends the same time as a real verify, so an unknown email cannot be told apart by timing.
    public func verifyAgainstDummy(_ password: String) {
        let hash = dummy.withLock { cached in
            if let cached { return cached }
            let made = (try? self.hash(Tokens.randomHex(bytes: 16))) ?? ""
            cached = made
            return made
        }
        _ = verify(password, hash: hash)
    }

    enum HasherError: Error { case outOfMemory }
}
