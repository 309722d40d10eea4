import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// POST /api/auth/login, GET /api/auth/me, POST /api/auth/logout.
enum AuthRoutes {
    struct LoginBody: Decodable {
        let email: String
        let password: String
    }


    static func login(_ request: Request, _ context: AppContext) throws -> Response {
        let body = try JSON.decode(LoginBody.self, from: request)
        guard !Validate.normalizedEmail(body.email).isEmpty else { throw APIError.badRequest("Missing required field: email") }
        // Checked before anything is stored or hashed, so a client cannot grow the database with long emails.
        let email = try Validate.email(body.email)

        let throttle = LoginThrottle(context: context, email: email, address: request.remoteAddress)
        try throttle.check()

        let user = try context.accounts.user(email: email)
        let valid: Bool
        if let user, !body.password.isEmpty, body.password.utf8.count <= Validate.maxPasswordBytes {
            valid = try context.passwords.verify(body.password, hash: user.passwordHash)
        } else {
            try context.passwords.verifyAgainstDummy(body.password)
            valid = false
        }
        guard let user, valid else {
            try throttle.recordFailure()
            try recordFailure(request, context, email: email, user: user, reason: "wrong email or password")
            throw APIError(401, "Invalid email or password")
        }
        guard !user.disabled else {
            try recordFailure(request, context, email: email, user: user, reason: "account disabled")
            throw APIError(403, "Account is disabled")
        }
        try throttle.recordSuccess()

        let now = context.now
        let token = Tokens.randomHex(bytes: 32)
        let maxAge = context.config.sessionMaxSeconds
        try context.accounts.deleteSessions(
            expiredBefore: now, idleSince: now.addingTimeInterval(-TimeInterval(context.config.sessionIdleSeconds)))
        try context.accounts.createSession(
            tokenHash: Tokens.sha256Hex(token), userId: user.id, orgId: user.orgId, now: now,
            expiresAt: now.addingTimeInterval(TimeInterval(maxAge)))
        try Principal(user: user, sessionHash: "").audit(request, context, "auth.login", AuditTarget("user", user.id))

        var response = Response.rawJSON(JSONText.object(["message": .string("Login successful"), "user": .raw(UserJSON.text(user))]))
        response.addHeader("Set-Cookie", cookie(token, maxAge: maxAge, secure: request.isHTTPS))
        return response
    }

    static func me(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.authenticate(request, context)
        return Response.rawJSON(JSONText.object(["user": .raw(UserJSON.text(principal.user, organizationName: principal.organizationName))]))
    }

    /// Always 200: the session (if any) is revoked server-side and the cookie cleared.
    static func logout(_ request: Request, _ context: AppContext) throws -> Response {
        if let token = request.cookie(Authenticator.cookieName), !token.isEmpty, token.utf8.count <= 128 {
            let hash = Tokens.sha256Hex(token)
            // Only a session that existed is a change worth recording.
            let user = try context.accounts.session(tokenHash: hash)?.user
            try context.accounts.deleteSession(tokenHash: hash)
            if let user { try Principal(user: user, sessionHash: hash).audit(request, context, "auth.logout", AuditTarget("user", user.id)) }
        }
        var response = try Response.json(SuccessJSON())
        response.addHeader("Set-Cookie", cookie("", maxAge: 0, secure: request.isHTTPS))
        return response
    }

    /// A failed login is recorded (never the password): under the account's organisation, or, for an
    /// email of no user, the deployment's only organisation (none when there are several). Logins refused
    /// by throttling (429) are not: they check no password, and a flood of them would fill the log.
    static func recordFailure(_ request: Request, _ context: AppContext, email: String, user: UserRecord?, reason: String) throws {
        let orgId = try user?.orgId ?? context.resources.soleOrganizationId()
        let actor = AuditActor(kind: .user, id: user?.id, label: email, orgId: orgId)
        try AuditTrail.record(
            context, actor: actor, address: request.remoteAddress.isEmpty ? nil : request.remoteAddress,
            action: "auth.login_failed", target: AuditTarget("user", user?.id), changes: ["reason": .object(["new": .string(reason)])])
    }

    static func cookie(_ value: String, maxAge: Int, secure: Bool) -> String {
        "\(Authenticator.cookieName)=\(value); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(maxAge)" + (secure ? "; Secure" : "")
    }
}
