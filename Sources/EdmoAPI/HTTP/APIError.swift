import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation
import Synchronization

/// Every failure a client may see. `ErrorResponder` is the one place that turns it into a response.
public struct APIError: Error, Equatable, Sendable {
    public var status: Int
    public var message: String
    public var headers: [String: String] = [:]

    public init(_ status: Int, _ message: String, headers: [String: String] = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public static func badRequest(_ message: String) -> APIError { APIError(400, message) }
    public static let unauthorized = APIError(401, "Not authenticated")
    public static let forbidden = APIError(403, "You do not have permission to do this")
    public static func notFound(_ what: String) -> APIError { APIError(404, "\(what) not found") }
    public static func conflict(_ message: String) -> APIError { APIError(409, message) }
    public static func tooManyRequests(retryAfter seconds: Int) -> APIError {
        APIError(429, "Too many failed attempts. Try again later.", headers: ["Retry-After": String(max(1, seconds))])
    }
}

struct ErrorBody: Encodable { let error: String }

public enum ErrorResponder {
    /// Maps any thrown error to the `{"error": "..."}` envelope. Unknown errors are 500s: logged in full,
    /// answered with a generic message.
    public static func response(for error: Error, request: Request, log: Logger, storageAlarm: StorageAlarm? = nil) -> Response {
        let apiError: APIError
        if let known = error as? APIError {
            apiError = known
        } else if let throttled = error as? LoginThrottled {
            apiError = .tooManyRequests(retryAfter: throttled.retryAfter)
        } else if error is VersionMismatch {
            apiError = ETag.changed
        } else if let invalid = error as? ValidationFailure {
            apiError = .badRequest(invalid.message)
        } else if let missed = error as? AuditNotRecorded {
            // After the change committed: saying "nothing was saved" would be wrong, and so would "done".
            if !missed.storageFull {
                log.error("request \(request.requestId) \(request.method) \(request.path): \(missed)")
            } else if storageAlarm?.shouldReport() ?? true {
                log.error("storage is full: writes fail with 507 until space is freed (\(missed.action) was saved without its audit entry)")
            }
            apiError = missed.storageFull
                ? APIError(507, "Storage is full: what this request changed was saved, but the audit log could not record it. Check before repeating it once the operator has freed space.")
                : APIError(500, "Internal server error")
        } else if case StoreError.storageFull? = error as? StoreError {
            // Logged once a minute, not per request: a full disk fails every write until space is freed.
            if storageAlarm?.shouldReport() ?? true {
                log.error("storage is full: writes fail with 507 until space is freed")
            }
            apiError = APIError(507, "Storage is full; nothing was saved. Try again once the operator has freed space.")
        } else if case StoreError.stale? = error as? StoreError {
            apiError = .conflict("The resource was changed by others at the same moment too many times; try again")
        } else if case StoreError.conflict(let message)? = error as? StoreError {
            apiError = .conflict(message)
        } else if case StoreError.notFound(let what)? = error as? StoreError {
            apiError = .notFound(what)
        } else if let provider = error as? ProviderError {
            log.error("request \(request.requestId) \(request.method) \(request.path): \(provider)")
            switch provider {
            case .rejected(_, let message): apiError = .badRequest("The voice platform rejected the request: \(message)")
            case .failed: apiError = APIError(502, "The voice platform is unavailable; nothing was changed. Try again later.")
            }
        } else if let llm = error as? LLMError {
            log.error("request \(request.requestId) \(request.method) \(request.path): \(llm)")
            apiError = APIError(502, "The assistant's language model did not answer; your message was saved. Try again later.")
        } else if let busy = error as? ServerBusyError {
            // A per-host cap (password hashing, outbound calls) is full: the client retries shortly.
            log.error("request \(request.requestId) \(request.method) \(request.path): \(busy)")
            apiError = APIError(503, ServerBusyError.message, headers: ["Retry-After": String(ServerBusyError.retryAfterSeconds)])
        } else {
            log.error("request \(request.requestId) \(request.method) \(request.path) failed: \(String(describing: error))")
            apiError = APIError(500, "Internal server error")
        }
        var response = (try? Response.json(ErrorBody(error: apiError.message), status: apiError.status))
            ?? Response(status: 500)
        for (name, value) in apiError.headers.sorted(by: { $0.key < $1.key }) { response.addHeader(name, value) }
        return response
    }
}
