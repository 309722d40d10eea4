/// The seed's `User` as sent to clients (never the password hash).
struct UserJSON: Encodable {
    let id: String
    let email: String
    let name: String?
    let role: String
    let disabled: Bool
    let permissions: [String: [String]]

    init(_ user: UserRecord) {
        id = user.id
        email = user.email
        name = user.name
        role = user.role.rawValue
        disabled = user.disabled
        permissions = Permissions.map(for: user.role)
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(email, forKey: .email)
        try c.encode(name, forKey: .name)  // explicit null, as the seed marks it nullable
        try c.encode(role, forKey: .role)
        try c.encode(disabled, forKey: .disabled)
        try c.encode(permissions, forKey: .permissions)
    }

    enum CodingKeys: String, CodingKey { case id, email, name, role, disabled, permissions }
}

struct SuccessJSON: Encodable { var success = true }
