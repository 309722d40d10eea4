import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Creating a user, shared by the CLI and `POST /api/users`: validated, hashed, inserted.
public enum UserAccounts {
    public static func create(
        _ context: AppContext, email rawEmail: String, password: String, role: Role, name: String?, orgName: String
    ) throws -> UserRecord {
        let org = try context.accounts.ensureOrganization(name: orgName, id: context.ids.next("org"), now: context.now)
        return try create(context, email: rawEmail, password: password, role: role, name: name, orgId: org.id)
    }

    public static func create(
        _ context: AppContext, email rawEmail: String, password: String, role: Role, name: String?, orgId: String
    ) throws -> UserRecord {
        let email = try Validate.email(rawEmail)
        try Validate.password(password)
        try Validate.text(name, field: "name", max: 200)
        let now = Timestamp.format(context.now)
        let user = UserRecord(
            id: context.ids.next("usr"), orgId: orgId, email: email, name: name, role: role, disabled: false,
            passwordHash: try context.passwords.hash(password), createdAt: now, updatedAt: now)
        try context.accounts.insertUser(user)
        return user
    }

    /// A first or reset password made by the server, shown once to the ADMIN who hands it on: 20 characters
    /// from 56 that cannot be mistaken for one another when read aloud or copied by hand (no 0/O/o, 1/l/I),
    /// about 116 bits, in groups of five.
    public static func generatedPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var chars: [Character] = []
        while chars.count < 20 {
            // Bytes of 224 and above are dropped, so that every character is equally likely (224 = 4 * 56).
            for byte in Tokens.randomBytes(32) where byte < 224 && chars.count < 20 {
                chars.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return stride(from: 0, to: 20, by: 5).map { String(chars[$0..<$0 + 5]) }.joined(separator: "-")
    }

    /// A user's fields as the audit log keeps them (never the password hash), from `old` to `new` (nil for a
    /// creation or deletion). `password` adds the password as changed, by name only.
    public static func changes(from old: UserRecord?, to new: UserRecord?, password: Bool = false) -> [String: JSONValue] {
        var changes = AuditTrail.changes(from: old.map(auditFields), to: new.map(auditFields))
        if password { changes["password"] = AuditTrail.secretChange(old: old.map { _ in true }, new: true) }
        return changes
    }

    static func auditFields(_ user: UserRecord) -> JSONValue {
        .object([
            "email": .string(user.email), "name": user.name.map(JSONValue.string) ?? .null, "role": .string(user.role.rawValue),
            "disabled": .bool(user.disabled),
        ])
    }
}
