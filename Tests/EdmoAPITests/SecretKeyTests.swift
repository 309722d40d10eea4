import EdmoCore
import EdmoService
import EdmoStore
import Foundation
import Testing

/// The keys of a rotation: read from the environment or private files, and a box that seals with the
/// current key and opens with either.
struct SecretKeyTests {
    static let hexA = String(repeating: "a1", count: 32)
    static let hexB = String(repeating: "b2", count: 32)
    static let base = ["EDMO_DATABASE": "/tmp/x.sqlite"]

    /// A file holding `text`, with `mode`.
    static func keyFile(_ text: String, mode: Int) throws -> String {
        let path = makeTempDirectory() + "/secret.key"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    static func refusal(_ env: [String: String]) -> String? {
        do {
            _ = try Config.fromEnvironment(env)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func bothKeysComeFromTheEnvironmentOrFromPrivateFiles() throws {
        let direct = try Config.fromEnvironment(
            Self.base.merging(["EDMO_SECRET_KEY": Self.hexB, "EDMO_SECRET_KEY_PREVIOUS": Self.hexA]) { $1 })
        #expect(direct.secretKey == [UInt8](repeating: 0xB2, count: 32))
        #expect(direct.previousSecretKey == [UInt8](repeating: 0xA1, count: 32))
        // A file as `openssl rand -hex 32 > file` writes it (a final newline), mode 600 or 400.
        let current = try Self.keyFile(Self.hexB + "\n", mode: 0o600), previous = try Self.keyFile(Self.hexA, mode: 0o400)
        let files = try Config.fromEnvironment(
            Self.base.merging(["EDMO_SECRET_KEY_FILE": current, "EDMO_SECRET_KEY_PREVIOUS_FILE": previous]) { $1 })
        #expect(files.secretKey == direct.secretKey && files.previousSecretKey == direct.previousSecretKey)
        #expect(try Config.fromEnvironment(Self.base.merging(["EDMO_SECRET_KEY": Self.hexB]) { $1 }).previousSecretKey == nil)
    }

    @Test func aKeyFileOthersCanReadIsRefusedAsSshRefusesOne() throws {
        for mode in [0o644, 0o640, 0o604, 0o620] {
            let path = try Self.keyFile(Self.hexB, mode: mode)
            let message = try #require(Self.refusal(Self.base.merging(["EDMO_SECRET_KEY_FILE": path]) { $1 }))
            #expect(message == "EDMO_SECRET_KEY_FILE: \(path) is open to group or others (mode \(String(format: "%04o", mode))); a key file must be private: chmod 600 \(path)")
        }
    }

    @Test func aMissingMalformedOrDoubledKeyIsNamed() throws {
        let short = try Self.keyFile("abc", mode: 0o600)
        let cases: [([String: String], String)] = [
            (["EDMO_SECRET_KEY": Self.hexB, "EDMO_SECRET_KEY_FILE": short],
             "EDMO_SECRET_KEY and EDMO_SECRET_KEY_FILE are both set: give the key one way only"),
            (["EDMO_SECRET_KEY_FILE": short],
             "EDMO_SECRET_KEY_FILE: \(short) must hold 64 hex characters (32 bytes); try `openssl rand -hex 32`"),
            (["EDMO_SECRET_KEY_FILE": "/nonexistent/secret.key"],
             "EDMO_SECRET_KEY_FILE: cannot read /nonexistent/secret.key: No such file or directory"),
            (["EDMO_SECRET_KEY": Self.hexB, "EDMO_SECRET_KEY_PREVIOUS": "xyz"],
             "EDMO_SECRET_KEY_PREVIOUS must be 64 hex characters (32 bytes); try `openssl rand -hex 32`"),
            (["EDMO_SECRET_KEY": Self.hexB, "EDMO_SECRET_KEY_PREVIOUS": Self.hexA, "EDMO_SECRET_KEY_PREVIOUS_FILE": short],
             "EDMO_SECRET_KEY_PREVIOUS and EDMO_SECRET_KEY_PREVIOUS_FILE are both set: give the key one way only"),
            (["EDMO_SECRET_KEY_PREVIOUS": Self.hexA],
             "EDMO_SECRET_KEY is not set: 64 hex characters (32 bytes), or EDMO_SECRET_KEY_FILE naming a file that holds them; try `openssl rand -hex 32`"),
        ]
        for (env, message) in cases {
            #expect(Self.refusal(Self.base.merging(env) { $1 }) == message)
        }
    }

    @Test func theBoxSealsWithTheCurrentKeyAndOpensWithEither() throws {
        let a = [UInt8](repeating: 0xA1, count: 32), b = [UInt8](repeating: 0xB2, count: 32)
        let rotating = SecretBox(key: b, previous: a)
        let underA = SecretBox(key: a).seal(Array("old".utf8))
        let sealed = rotating.seal(Array("new".utf8))
        #expect(rotating.opening(underA).map { String(decoding: $0.plaintext, as: UTF8.self) } == "old")
        #expect(rotating.opening(underA)?.by == .previous)
        #expect(rotating.opening(sealed)?.by == .current)
        #expect(SecretBox(key: b).open(sealed) == Array("new".utf8))
        #expect(SecretBox(key: a).open(sealed) == nil)
        #expect(SecretBox(key: b).open(underA) == nil)
        #expect(rotating.open([1, 2, 3]) == nil)
    }

    @Test func theServerOpensCredentialsSealedWithThePreviousKey() throws {
        let app = try TestApp()  // its key: 32 sevens
        var config = app.context.config
        config.previousSecretKey = config.secretKey
        config.secretKey = [UInt8](repeating: 0xB2, count: 32)
        let rotated = AppContext(config: config, stores: app.database.stores)
        let before = try app.context.seal(Array("token".utf8))
        #expect(try rotated.unseal(before) == Array("token".utf8))
        #expect(throws: CredentialError.self) { try app.context.unseal(try rotated.seal(Array("token".utf8))) }
    }
}
