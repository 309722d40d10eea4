import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// Who is calling: the user behind the `auth-token` cookie.
public struct Principal: Sendable {
    public var user: UserRecord
    /// The hash of the session token this request came with.
    public var sessionHash: String
    public var organizationName: String? = nil
    public var orgId: String { user.orgId }
}

public enum Authenticator {
    public static let cookieName = "auth-token"
    /// A session's last-seen time is written at most this often, so reads stay reads.
    static let touchInterval: TimeInterval = 60

    /// 401 without a valid session, 403 for a disabled account, 404 if the user row is gone.
    public static func authenticate(_ request: Request, _ context: AppContext) throws -> Principal {
        guard let token = request.cookie(cookieName), !token.isEmpty, token.utf8.count <= 128 else {
            throw APIError.unauthorized
        }
        let hash = Tokens.sha256Hex(token)
        guard let session = try context.accounts.session(tokenHash: hash) else { throw APIError.unauthorized }
        let now = context.now
        let idle = TimeInterval(context.config.sessionIdleSeconds)
        guard session.expiresAt > now, now.timeIntervalSince(session.lastSeenAt) < idle else {
            throw APIError(401, "Session expired; log in again")
        }
        guard let user = session.user else { throw APIError(404, "User no longer exists") }
        guard !user.disabled else { throw APIError(403, "Account is disabled") }
        if now.timeIntervalSince(session.lastSeenAt) >= touchInterval {
            try context.accounts.touchSession(tokenHash: hash, now: now)
        }
        return Principal(user: user, sessionHash: hash, organizationName: session.organizationName)
    }

    /// Authenticates, then asks the permission table; 403 when the role lacks the permission.
    public static func require(_ area: Area, _ action: Action, _ request: Request, _ context: AppContext) throws -> Principal {
        let principal = try authenticate(request, context)
        guard Permissions.allows(principal.user.role, area, action) else { throw APIError.forbidden }
        return principal
    }
}
