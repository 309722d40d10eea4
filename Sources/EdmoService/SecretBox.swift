import EdmoCore
import EdmoProviders
import EdmoStore
import CSodium
import Foundation

/// Third-party credentials at rest: libsodium secretbox (XSalsa20-Poly1305) with the key from
/// `EDMO_SECRET_KEY`; stored as nonce || ciphertext. During a key rotation it also holds the key being
/// retired (`EDMO_SECRET_KEY_PREVIOUS`): it seals with the current key only and opens with either, so every
/// host configured with both serves every credential while `edmo rotate-secret-key` re-seals them.
public struct SecretBox: Sendable {
    public let key: [UInt8]
    /// Opens what was sealed before the rotation; never seals.
    public let previousKey: [UInt8]?

    /// Which key opened a sealed value.
    public enum Opener: Sendable, Equatable { case current, previous }

    public init(key: [UInt8], previous: [UInt8]? = nil) {
        precondition(key.count == Int(crypto_secretbox_KEYBYTES), "the secret key must be 32 bytes")
        precondition(previous.map { $0.count == key.count } ?? true, "the previous secret key must be 32 bytes")
        Tokens.ensureSodium()
        self.key = key
        self.previousKey = previous
    }

    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        let nonce = Tokens.randomBytes(Int(crypto_secretbox_NONCEBYTES))
        var cipher = [UInt8](repeating: 0, count: plaintext.count + Int(crypto_secretbox_MACBYTES))
        _ = crypto_secretbox_easy(&cipher, plaintext, UInt64(plaintext.count), nonce, key)
        return nonce + cipher
    }

    public func open(_ sealed: [UInt8]) -> [UInt8]? { opening(sealed)?.plaintext }

    /// The plaintext and the key that opened it: the current key first, then the previous one.
    public func opening(_ sealed: [UInt8]) -> (plaintext: [UInt8], by: Opener)? {
        if let plain = Self.open(sealed, key) { return (plain, .current) }
        if let previousKey, let plain = Self.open(sealed, previousKey) { return (plain, .previous) }
        return nil
    }

    static func open(_ sealed: [UInt8], _ key: [UInt8]) -> [UInt8]? {
        let nonceBytes = Int(crypto_secretbox_NONCEBYTES), mac = Int(crypto_secretbox_MACBYTES)
        guard sealed.count >= nonceBytes + mac else { return nil }
        let nonce = Array(sealed[..<nonceBytes]), cipher = Array(sealed[nonceBytes...])
        var plain = [UInt8](repeating: 0, count: cipher.count - mac)
        guard crypto_secretbox_open_easy(&plain, cipher, UInt64(cipher.count), nonce, key) == 0 else { return nil }
        return plain
    }
}
