import Foundation

/// Field rules shared by the models and handlers; each failure is a `ValidationFailure` naming the field.
public enum Validate {
    public static let maxPasswordBytes = 1024

    public static func normalizedEmail(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public static func email(_ raw: String, field: String = "email") throws -> String {
        let email = normalizedEmail(raw)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              !email.contains(where: { $0.isWhitespace || $0.isNewline })
        else { throw ValidationFailure("Invalid value for field: \(field) (an email address)") }
        return email
    }

    public static func password(_ password: String, field: String = "password") throws {
        guard password.count >= 8, password.utf8.count <= maxPasswordBytes else {
            throw ValidationFailure("Invalid value for field: \(field) (8 to 1024 characters)")
        }
    }

    public static func text(_ value: String?, field: String, max: Int) throws {
        guard let value else { return }
        guard value.count <= max else { throw ValidationFailure("Invalid value for field: \(field) (at most \(max) characters)") }
    }

    public static func nonEmpty(_ value: String, field: String, max: Int) throws {
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationFailure("Invalid value for field: \(field) (must not be empty)")
        }
        try text(value, field: field, max: max)
    }

    /// http or https with a host: the only URLs a tool or provider may point at.
    public static func httpURL(_ value: String, field: String) throws {
        guard value.utf8.count <= 2048, let url = URL(string: value), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { throw ValidationFailure("Invalid value for field: \(field) (an http or https URL)") }
    }

    /// E.164: `+`, then 8 to 15 digits, the first not 0.
    public static func e164(_ value: String, field: String) throws {
        let digits = value.dropFirst()
        guard value.first == "+", (8...15).contains(digits.count), digits.first != "0",
              digits.allSatisfy({ $0.isASCII && $0.isNumber })
        else { throw ValidationFailure("Invalid value for field: \(field) (an E.164 number such as +17865550123)") }
    }
}
