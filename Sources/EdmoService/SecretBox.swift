import EdmoCore
import EdmoProviders
import EdmoStore
import CSodium
import Foundation

/// Third-party credentials at rest: libsodium secretbox (XSalsa20-Poly1305) with the key from
/// `EDMO_SECRET_KEY`; stored as nonce || ciphertext.
public struct SecretBox: Sendable {
    public let key: [UInt8]

    public init(key: [UInt8]) {
        precondition(key.count == Int(crypto_secretbox_KEYBYTES), "the secret key must be 32 bytes")
        Tokens.ensureSodium()
        self.key = key
    }

    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        let nonce = Tokens.randomBytes(Int(crypto_secretbox_NONCEBYTES))
        var cipher = [UInt8](repeating: 0, count: plaintext.count + Int(crypto_secretbox_MACBYTES))
        _ = crypto_secretbox_easy(&cipher, plaintext, UInt64(plaintext.count), nonce, key)
        return nonce + cipher
    }

    public func open(_ sealed: [UInt8]) -> [UInt8]? {
        let nonceBytes = Int(crypto_secretbox_NONCEBYTES), mac = Int(crypto_secretbox_MACBYTES)
        guard sealed.count >= nonceBytes + mac else { return nil }
        let nonce = Array(sealed[..<nonceBytes]), cipher = Array(sealed[nonceBytes...])
        var plain = [UInt8](repeating: 0, count: cipher.count - mac)
        guard crypto_secretbox_open_easy(&plain, cipher, UInt64(cipher.count), nonce, key) == 0 else { return nil }
        return plain
    }
}
