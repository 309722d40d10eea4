import EdmoCore
import EdmoProviders
import EdmoStore
import CSodium
import Foundation

/// Random tokens, hashes and comparisons, all from libsodium.
public enum Tokens {
    private static let ready: Bool = sodium_init() >= 0

    public static func ensureSodium() {
        precondition(ready, "libsodium failed to initialise")
    }

    public static func randomBytes(_ count: Int) -> [UInt8] {
        ensureSodium()
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, count)
        return bytes
    }

    public static func randomHex(bytes: Int) -> String { hex(randomBytes(bytes)) }

    /// SHA-256 hex: session tokens are stored only as this hash, so a database leak yields no live token.
    public static func sha256Hex(_ text: String) -> String { sha256Hex(bytes: Array(text.utf8)) }

    public static func sha256Hex(bytes: [UInt8]) -> String {
        ensureSodium()
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256(&digest, bytes, UInt64(bytes.count))
        return hex(digest)
    }

    /// Constant-time for equal lengths; a length mismatch returns early (it reveals only the length).
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        ensureSodium()
        return sodium_memcmp(x, y, x.count) == 0
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Tokens {
    /// HMAC-SHA256 of `message` under `key`, hex.
    public static func hmacSHA256Hex(key: String, message: [UInt8]) -> String {
        ensureSodium()
        var state = crypto_auth_hmacsha256_state()
        let keyBytes = Array(key.utf8)
        crypto_auth_hmacsha256_init(&state, keyBytes, keyBytes.count)
        crypto_auth_hmacsha256_update(&state, message, UInt64(message.count))
        var out = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        crypto_auth_hmacsha256_final(&state, &out)
        return hex(out)
    }
}
