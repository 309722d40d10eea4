import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
/// The seed's `User` as sent to clients (never the password hash). Written by hand: it is on the path of
/// `GET /api/auth/me`, which every dashboard page calls.
enum UserJSON {
    static func text(_ user: UserRecord) -> String {
        JSONText.object([
            "disabled": .bool(user.disabled),
            "email": .string(user.email),
            "id": .string(user.id),
            "name": .string(user.name),
            "permissions": .raw(permissionsJSON[user.role] ?? "{}"),
            "role": .string(user.role.rawValue),
        ])
    }

    /// The signed-in user, with their organisation (addition: `organization {id, name}`).
    static func text(_ user: UserRecord, organizationName: String?) -> String {
        let organization = JSONText.object(["id": .string(user.orgId), "name": .string(organizationName)])
        return JSONText.object([
            "disabled": .bool(user.disabled),
            "email": .string(user.email),
            "id": .string(user.id),
            "name": .string(user.name),
            "organization": .raw(organization),
            "permissions": .raw(permissionsJSON[user.role] ?? "{}"),
            "role": .string(user.role.rawValue),
        ])
    }

    /// A user with the password the server made for them (invite without a password, reset): in this answer
    /// only, never stored in the clear, logged or audited.
    static func text(_ user: UserRecord, initialPassword: String) -> String {
        JSONText.object([
            "disabled": .bool(user.disabled),
            "email": .string(user.email),
            "id": .string(user.id),
            "initialPassword": .string(initialPassword),
            "name": .string(user.name),
            "permissions": .raw(permissionsJSON[user.role] ?? "{}"),
            "role": .string(user.role.rawValue),
        ])
    }

    static func list(_ users: [UserRecord]) -> String { "[" + users.map(text).joined(separator: ",") + "]" }

    static let permissionsJSON: [Role: String] = Dictionary(uniqueKeysWithValues: Role.allCases.map { role in
        (role, String(decoding: (try? JSON.encode(Permissions.map(for: role))) ?? Array("{}".utf8), as: UTF8.self))
    })
}

struct SuccessJSON: Encodable { var success = true }
