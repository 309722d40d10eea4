import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// POST /api/webhooks/provider (addition): the voice platform's server messages. An `end-of-call-report`
/// becomes (or updates) the call's conversation; other message types are accepted and ignored.
/// The sender proves itself with EDMO_WEBHOOK_SECRET: as `X-Vapi-Secret`, or as an HMAC-SHA256 of the body
/// in `X-Vapi-Signature` (hex, optionally `sha256=`-prefixed; with `X-Vapi-Timestamp`, of "timestamp.body",
/// which must be within five minutes). Both compared in constant time.
enum WebhookRoutes {
    struct Ack: Encodable {
        let received: Bool
        let stored: Bool
    }

    static func provider(_ request: Request, _ context: AppContext) throws -> Response {
        try authenticate(request, context)
        guard let body = try? JSONValue.parse(request.body), let message = body["message"], case .object = message else {
            throw APIError.badRequest("Missing required field: message")
        }
        guard let type = message["type"]?.stringValue else { throw APIError.badRequest("Missing required field: message.type") }
        guard type == "end-of-call-report" else { return try Response.json(Ack(received: true, stored: false)) }
        guard let parsed = try CallIngestion.parse(message, context) else {
            context.log.info("end-of-call report for an unknown assistant and number ignored")
            return try Response.json(Ack(received: true, stored: false))
        }
        let changed = try CallIngestion.store(parsed, context)
        return try Response.json(Ack(received: true, stored: changed))
    }

    static func authenticate(_ request: Request, _ context: AppContext) throws {
        guard let secret = context.config.webhookSecret else {
            throw APIError(401, "Webhooks are not enabled: set EDMO_WEBHOOK_SECRET")
        }
        if let given = request.header("x-vapi-secret"), Tokens.constantTimeEqual(given, secret) { return }
        if var signature = request.header("x-vapi-signature") {
            if signature.hasPrefix("sha256=") { signature.removeFirst(7) }
            var signed = request.body
            if let stamp = request.header("x-vapi-timestamp") {
                guard let seconds = Double(stamp), abs(context.now.timeIntervalSince1970 - (seconds > 1e11 ? seconds / 1000 : seconds)) <= 300 else {
                    throw APIError(401, "Webhook timestamp is missing or too old")
                }
                signed = Array("\(stamp).".utf8) + request.body
            }
            if Tokens.constantTimeEqual(signature.lowercased(), Tokens.hmacSHA256Hex(key: secret, message: signed)) { return }
        }
        throw APIError(401, "Invalid webhook secret or signature")
    }
}
