import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// /api/users: ADMINs manage the users of their own organisation (addition to the seed).
enum UserRoutes {
    struct CreateBody: Decodable {
        let email: String
        /// Absent: the server makes a first password and answers it once (`initialPassword`). Null is a 400,
        /// as for every field the contract does not make nullable.
        let password: Patch<String>
        let role: Role
        let name: String?
    }

    struct UpdateBody: Decodable {
        let name: Patch<String>
        let role: Patch<Role>
        let disabled: Patch<Bool>
        let password: Patch<String>

        var isEmpty: Bool {
            if case .absent = name, case .absent = role, case .absent = disabled, case .absent = password { return true }
            return false
        }
    }

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .read, request, context)
        let page = try Validate.page(request)
        let result = try context.accounts.users(orgId: principal.orgId, limit: page.limit, offset: page.offset)
        var response = Response.rawJSON(UserJSON.list(result.items))
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    static func create(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let body = try JSON.decode(CreateBody.self, from: request)
        let given = try body.password.required("password")
        let generated = given == nil ? UserAccounts.generatedPassword() : nil
        let user = try UserAccounts.create(
            context, email: body.email, password: given ?? generated ?? "", role: body.role, name: body.name, orgId: principal.orgId)
        try principal.audit(request, context, "user.create", AuditTarget("user", user.id), UserAccounts.changes(from: nil, to: user, password: true))
        let text = generated.map { UserJSON.text(user, initialPassword: $0) } ?? UserJSON.text(user)
        return Response.rawJSON(text, status: 201).withETag(user.version)
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .read, request, context)
        guard let user = try context.accounts.user(orgId: principal.orgId, id: request.param("id")) else {
            throw APIError.notFound("User")
        }
        return Response.rawJSON(UserJSON.text(user)).withETag(user.version)
    }

    static func update(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let body = try JSON.decode(UpdateBody.self, from: request)
        guard body.isEmpty == false else { throw APIError.badRequest("Nothing to update: give name, role, disabled or password") }
        var change = UserChange()
        change.name = body.name
        if case .value(let name) = body.name { try Validate.text(name, field: "name", max: 200) }
        change.role = try body.role.required("role")
        change.disabled = try body.disabled.required("disabled")
        if let password = try body.password.required("password") {
            try Validate.password(password)
            change.passwordHash = try context.passwords.hash(password)
        }
        let id = request.param("id")
        if id == principal.user.id {
            // An admin cannot lock themselves out; another admin has to do it.
            if change.disabled == true || (change.role.map { $0 != .admin } ?? false) {
                throw APIError.conflict("You cannot disable or demote your own account")
            }
            change.keepSession = principal.sessionHash
        }
        // The store applies the change to the current row in one transaction; If-Match pins the version.
        // The row read here is also the "old" side of the audit entry.
        guard let current = try context.accounts.user(orgId: principal.orgId, id: id) else { throw APIError.notFound("User") }
        if request.header("if-match") != nil {
            try ETag.check(request, version: current.version)
            change.expectedVersion = current.version
        }
        do {
            let user = try context.accounts.updateUser(orgId: principal.orgId, id: id, change: change, now: context.now)
            let changes = UserAccounts.changes(from: current, to: user, password: change.passwordHash != nil)
            if !changes.isEmpty { try principal.audit(request, context, "user.update", AuditTarget("user", user.id), changes) }
            return Response.rawJSON(UserJSON.text(user)).withETag(user.version)
        } catch StoreError.stale {
            throw ETag.changed
        }
    }

    static func delete(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        guard request.param("id") != principal.user.id else {
            throw APIError.conflict("You cannot delete your own account")
        }
        var version: Int?
        // Read first in any case: the audit entry keeps what the user was.
        guard let current = try context.accounts.user(orgId: principal.orgId, id: request.param("id")) else {
            throw APIError.notFound("User")
        }
        if request.header("if-match") != nil {
            try ETag.check(request, version: current.version)
            version = current.version
        }
        do {
            try context.accounts.deleteUser(orgId: principal.orgId, id: request.param("id"), version: version)
        } catch StoreError.stale {
            throw ETag.changed
        }
        try principal.audit(request, context, "user.delete", AuditTarget("user", current.id), UserAccounts.changes(from: current, to: nil))
        return try Response.json(SuccessJSON())
    }
}
