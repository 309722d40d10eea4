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
