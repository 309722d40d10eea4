import Foundation

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
    public static func response(for error: Error, request: Request, log: Logger) -> Response {
        let apiError: APIError
        if let known = error as? APIError {
            apiError = known
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
