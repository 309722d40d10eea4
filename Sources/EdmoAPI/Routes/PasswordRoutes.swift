import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// Passwords (addition, issue 15): an ADMIN resets another user's to one the server makes, and every
/// signed-in user changes their own. A password made here is answered once and never logged or audited.
enum PasswordRoutes {
    struct ChangeBody: Decodable {
        let currentPassword: String
        let newPassword: String
    }

    /// POST /api/users/{id}/reset-password: a generated password, answered once; every session of that
    /// user ends. Not for the caller's own account: that change asks for the current password.
    static func reset(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let id = request.param("id")
        guard id != principal.user.id else {
            throw APIError.conflict("You cannot reset your own password; change it with your current password (POST /api/auth/password)")
        }
        guard let current = try context.accounts.user(orgId: principal.orgId, id: id) else { throw APIError.notFound("User") }
        let password = UserAccounts.generatedPassword()
        var change = UserChange()
        change.passwordHash = try context.passwords.hash(password)
        let user = try context.accounts.updateUser(orgId: principal.orgId, id: id, change: change, now: context.now)
        try principal.audit(
            request, context, "user.reset_password", AuditTarget("user", user.id),
            UserAccounts.changes(from: current, to: user, password: true))
        return Response.rawJSON(UserJSON.text(user, initialPassword: password)).withETag(user.version)
    }

    /// POST /api/auth/password: a session's own user (never an analytics key) proves the current password.
    /// A wrong one counts against the login throttle of this account and address, as a failed login does,
    /// so this cannot be used to guess past it; it is a 400 (not 401, which would read as signed out).
    /// Success ends the user's other sessions and keeps this one.
    static func change(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.authenticate(request, context)
        let body = try JSON.decode(ChangeBody.self, from: request)
        // Checked first: it needs no secret, so a bad new password costs no attempt.
        try Validate.password(body.newPassword, field: "newPassword")
        let throttle = LoginThrottle(context: context, email: principal.user.email, address: request.remoteAddress)
        try throttle.check()
        // The session's user is read without its hash (every request reads it); the row has it.
        guard let user = try context.accounts.user(orgId: principal.orgId, id: principal.user.id) else {
            throw APIError(404, "User no longer exists")
        }
        let current = body.currentPassword
        var valid = false
        if !current.isEmpty && current.utf8.count <= Validate.maxPasswordBytes {
            valid = try context.passwords.verify(current, hash: user.passwordHash)
        }
        guard valid else {
            try throttle.recordFailure()
            try principal.audit(
                request, context, "auth.password_change_failed", AuditTarget("user", user.id),
                ["reason": .object(["new": .string("wrong current password")])])
            throw APIError.badRequest("Invalid value for field: currentPassword (it is not your current password)")
        }
        guard body.newPassword != current else {
            throw APIError.badRequest("Invalid value for field: newPassword (must differ from the current password)")
        }
        try throttle.recordSuccess()
        var change = UserChange()
        change.passwordHash = try context.passwords.hash(body.newPassword)
        change.keepSession = principal.sessionHash
        _ = try context.accounts.updateUser(orgId: principal.orgId, id: user.id, change: change, now: context.now)
        try principal.audit(
            request, context, "auth.password_change", AuditTarget("user", user.id),
            ["password": AuditTrail.secretChange(old: true, new: true)])
        return try Response.json(SuccessJSON())
    }
}
