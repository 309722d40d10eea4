import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// `Idempotency-Key` on the routes the table marks `idempotent` (Stripe's semantics): the first request with
/// a key claims it in the database, runs, and stores its response for 24 h; a retry with the same key and the
/// same method, path and body is answered from the store with `Idempotent-Replayed: true`.
///
/// The claim commits before the handler runs and is never part of the handler's own transactions (a request
/// may make several, and outbound calls between them). So a process that dies after the change and before
/// storing the response leaves the claim in progress: once its lease has run out, retries get a 409 saying
/// the outcome is unknown, and the request is never run a second time under that key.
public enum Idempotency {
    public static let header = "idempotency-key"
    public static let replayedHeader = "Idempotent-Replayed"
    /// How long a key's response is kept (and the key cannot be reused with another body).
    public static let retention: TimeInterval = 86_400
    /// The response headers kept with the body; the rest (request id, caching) belong to each answer.
    static let keptHeaders = ["content-type", "location", "etag"]
    /// Purged rows per statement, and statements per background turn.
    static let purgeBatch = 1_000
    static let purgeBatchesPerTurn = 20

    /// Runs `handler` under the request's key. The key is checked first (400); a caller who is not signed in
    /// gets the handler's own 401/403, with nothing claimed.
    static func run(_ request: Request, _ context: AppContext, key: String, handler: () throws -> Response) throws -> Response {
        try validate(key)
        if isStreaming(request) {
            throw APIError.badRequest(
                "Idempotency-Key cannot be used on a streamed answer (\"stream\": true or Accept: text/event-stream): it cannot be replayed")
        }
        guard let principal = try? Authenticator.authenticate(request, context) else { return try handler() }
        let scope = IdempotencyScope(caller: "user:\(principal.user.id)", route: "\(request.method) \(request.path)", key: key)
        let owner = "\(context.owner) \(request.requestId) \(Tokens.randomHex(bytes: 8))"
        let now = context.now
        let claim = try context.idempotency.claim(
            scope, fingerprint: fingerprint(request), owner: owner, now: now,
            leaseUntil: now.addingTimeInterval(TimeInterval(context.config.idempotencyLeaseSeconds)),
            expiresAt: now.addingTimeInterval(retention))
        switch claim {
        case .replay(let stored):
            var response = Response(status: stored.status, headers: stored.headers.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }, body: stored.body)
            response.addHeader(replayedHeader, "true")
            return response
        case .mismatch:
            throw APIError(422, "This Idempotency-Key was already used with another request (method, path or body); use a new key")
        case .inProgress:
            throw APIError(409, "A request with this Idempotency-Key is still in progress; retry later", headers: ["Retry-After": "1"])
        case .interrupted:
            throw APIError(
                409,
                "The first request with this Idempotency-Key stopped before its answer was stored (its server went down): it may or may not have taken effect. Check, then use a new key to try again")
        case .claimed:
            break
        }
        var response: Response
        var changedNothing = false
        do {
            response = try handler()
        } catch {
            changedNothing = Self.changedNothing(error)
            response = ErrorResponder.response(for: error, request: request, log: context.log, storageAlarm: context.storageAlarm)
        }
        do {
            if changedNothing || [409, 429].contains(response.status) || response.stream != nil {
                try context.idempotency.release(scope, owner: owner)
            } else {
                let headers = response.headers.filter { keptHeaders.contains($0.0.lowercased()) }.map { [$0.0, $0.1] }
                let stored = StoredResponse(status: response.status, headers: headers, body: response.body)
                if try !context.idempotency.complete(scope, owner: owner, response: stored) {
                    context.log.error("request \(request.requestId): its Idempotency-Key was no longer held when its answer was stored")
                }
            }
        } catch {
            // The answer stands: the key stays in progress, and retries are told its outcome is unknown.
            context.log.error("request \(request.requestId): storing its Idempotency-Key answer failed: \(error)")
        }
        return response
    }

    /// 1-255 visible ASCII characters (a UUID is 36): a row has a bounded size whatever a client sends. No
    /// spaces: proxies trim them at the ends of a header, so a key with them would not arrive as it was sent.
    static func validate(_ key: String) throws {
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError.badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces)")
        }
    }

    /// SHA-256 of method, path and body: a retry must repeat all three.
    static func fingerprint(_ request: Request) -> String {
        Tokens.sha256Hex(bytes: Array("\(request.method)\n\(request.path)\n".utf8) + request.body)
    }

    /// A streamed answer (Server-Sent Events) is sent while it is made: there is nothing to replay. The chat's
    /// rule (`ChatStreamRoutes.wanted`): `stream` in the body decides; without it, the Accept header.
    static func isStreaming(_ request: Request) -> Bool {
        if request.body.count >= 8, String(decoding: request.body, as: UTF8.self).contains("\"stream\""),
           let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
           let stream = object["stream"] as? Bool
        {
            return stream
        }
        return request.header("accept")?.lowercased().contains("text/event-stream") == true
    }

    /// Failures that say nothing was changed, so a retry under the same key may run again: the voice platform
    /// failing before the local write, a full disk. (409 and 429 answers are released too.)
    static func changedNothing(_ error: Error) -> Bool {
        if case .failed? = error as? ProviderError { return true }
        if case .storageFull? = error as? StoreError { return true }
        return false
    }

    /// `edmo serve`'s turn, every minute: one host at a time removes keys kept past 24 h. A claim also takes
    /// over an expired row, so a key is free again at 24 h whether or not the purge has run.
    public static func purge(_ context: AppContext) {
        do {
            guard try context.resources.claimJob("idempotency-purge", every: 50, now: context.now) else { return }
            var removed = 0
            for _ in 0..<purgeBatchesPerTurn {
                let count = try context.idempotency.purgeExpired(now: context.now, limit: purgeBatch)
                removed += count
                if count < purgeBatch { break }
            }
            if removed > 0 { context.log.info("idempotency keys: removed \(removed) older than 24 h") }
        } catch {
            context.log.error("purging idempotency keys failed: \(error)")
        }
    }
}
