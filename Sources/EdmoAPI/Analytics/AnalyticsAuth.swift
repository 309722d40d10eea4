import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// The `X-API-Key` of reporting tools: the deployment's `ANALYTICS_API_KEY` (all organisations; compared in
/// constant time) or a per-organisation key (stored as a SHA-256). 401 without a valid key, 403 for a
/// revoked one. Without a key, the dashboard's session cookie works too: a signed-in user with the
/// analytics permission reads their own organisation.
enum AnalyticsAuth {
    /// nil: the deployment key, every organisation; otherwise the key's (or the user's) organisation.
    static func scope(_ request: Request, _ context: AppContext) throws -> String? {
        guard let key = request.header("x-api-key"), !key.isEmpty, key.utf8.count <= 200 else {
            if request.cookie(Authenticator.cookieName) != nil {
                return try Authenticator.require(.analytics, .read, request, context).orgId
            }
            throw APIError(401, "Missing API key: send it in the X-API-Key header")
        }
        if let deployment = context.config.analyticsAPIKey, Tokens.constantTimeEqual(key, deployment) { return nil }
        guard let stored = try context.analytics.key(hash: Tokens.sha256Hex(key)) else { throw APIError(401, "Invalid API key") }
        guard stored.revokedAt == nil else { throw APIError(403, "This API key has been revoked") }
        return stored.orgId
    }
}
