import Foundation

/// The secret keys: `NAME` holds the hex, or `NAME_FILE` names a file holding it (systemd's
/// `LoadCredential=`, a secrets manager's mount), so that no key needs to sit in an environment file.
extension Config {
    public static let secretKeyHint = "64 hex characters (32 bytes); try `openssl rand -hex 32`"

    /// The 32 bytes of `name` or `name_FILE`; nil when neither is set.
    static func secretKey(_ env: [String: String], _ name: String) throws -> [UInt8]? {
        let fileName = name + "_FILE"
        let given = env[name].flatMap(trimmed), path = env[fileName].flatMap(trimmed)
        if given != nil && path != nil {
            throw ConfigError(description: "\(name) and \(fileName) are both set: give the key one way only")
        }
        if let given {
            guard let bytes = decodeHex(given), bytes.count == 32 else {
                throw ConfigError(description: "\(name) must be \(secretKeyHint)")
            }
            return bytes
        }
        guard let path else { return nil }
        let hex = try readPrivateFile(path, variable: fileName)
        guard let bytes = decodeHex(hex), bytes.count == 32 else {
            throw ConfigError(description: "\(fileName): \(path) must hold \(secretKeyHint)")
        }
        return bytes
    }

    /// The file's text, trimmed; refused, as ssh refuses a private key file, when group or others may read
    /// or write it: a key others can read is leaked already.
    static func readPrivateFile(_ path: String, variable: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ConfigError(description: "\(variable): cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw ConfigError(
                description: "\(variable): \(path) is open to group or others (mode \(String(format: "%04o", mode))); a key file must be private: chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(description: "\(variable): cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func trimmed(_ value: String) -> String? {
        let value = value.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }
}
