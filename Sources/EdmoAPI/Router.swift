import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

public typealias Handler = @Sendable (Request, AppContext) throws -> Response

public struct Route: Sendable {
    let method: String
    /// Per segment of the pattern: its bytes, or nil for a `{param}`.
    let literals: [[UInt8]?]
    /// Per segment: the parameter's name, or nil for a literal.
    let names: [String?]
    let paramCount: Int
    let handler: Handler
    /// How the metrics name it: method and pattern, never a request's path.
    let label: RouteLabel
    /// Takes `Idempotency-Key` (see `Idempotency`): a POST that creates or changes something and whose
    /// answer may be kept (no one-time secret in it). Elsewhere the header is refused.
    let idempotent: Bool

    init(_ method: String, _ pattern: String, _ handler: @escaping Handler, idempotent: Bool = false) {
        self.method = method
        let segments = pattern.split(separator: "/")
        self.literals = segments.map { $0.first == "{" ? nil : Array($0.utf8) }
        self.names = segments.map { $0.first == "{" ? String($0.dropFirst().dropLast()) : nil }
        self.paramCount = names.count(where: { $0 != nil })
        self.handler = handler
        self.label = RouteLabel(method: method, route: pattern)
        self.idempotent = idempotent
    }

    /// Whether `parts` fit the pattern (`{id}` matches one non-empty segment). Byte comparison, nothing
    /// allocated: it runs for every route on every request.
    func fits(_ parts: [Substring]) -> Bool {
        guard parts.count == literals.count else { return false }
        for (literal, part) in zip(literals, parts) {
            if let literal, !Self.same(literal, part) { return false }
        }
        return true
    }

    /// Byte equality: lengths first, then one memcmp (a generic `elementsEqual` walked byte by byte).
    static func same(_ literal: [UInt8], _ part: Substring) -> Bool {
        let utf8 = part.utf8
        guard literal.count == utf8.count else { return false }
        guard !literal.isEmpty else { return true }
        return utf8.withContiguousStorageIfAvailable { bytes in
            literal.withUnsafeBufferPointer { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
        } ?? literal.elementsEqual(utf8)
    }

    /// The path params of `parts`, which fit the pattern.
    func params(_ parts: [Substring]) -> [String: String] {
        var params: [String: String] = [:]
        guard paramCount > 0 else { return params }
        params.reserveCapacity(paramCount)
        for (name, part) in zip(names, parts) {
            if let name { params[name] = String(part) }
        }
        return params
    }
}

/// Answers everything generic (404, 405, 413, 415, malformed JSON) before a handler runs, then calls it.
/// Every error, thrown anywhere, becomes the `{"error": ...}` envelope in `ErrorResponder`.
public struct Router: Sendable {
    let routes: [Route]

    public init(routes: [Route] = Routes.table) { self.routes = routes }

    public func handle(_ request: Request, _ context: AppContext) -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        var response: Response
        var route: RouteLabel?
        do {
            response = try dispatch(request, context, matched: &route)
        } catch {
            response = ErrorResponder.response(for: error, request: request, log: context.log, storageAlarm: context.storageAlarm)
        }
        response.addHeader("X-Request-Id", request.requestId)
        response.addHeader("Cache-Control", "no-store")
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        context.metrics.observeRequest(route ?? .unmatched(method: request.method), status: response.status, nanoseconds: elapsed)
        context.log.access(request, status: response.status, micros: elapsed / 1000)
        return response
    }

    func dispatch(_ request: Request, _ context: AppContext) throws -> Response {
        var route: RouteLabel?
        return try dispatch(request, context, matched: &route)
    }

    /// `matched` names the route that took the request (nil for the router's own 404 and 405).
    func dispatch(_ request: Request, _ context: AppContext, matched: inout RouteLabel?) throws -> Response {
        // Split on the UTF-8 bytes: String.split walks grapheme clusters and this runs on every request.
        // An empty segment (`//`, a trailing `/`) names no endpoint: every spelling of a path must be the
        // one nginx's per-location rules (the login rate limit) see. `%2F` stays encoded (Request.decodePath).
        let all = request.path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard all.count > 1, all[0].isEmpty, !all.dropFirst().contains(where: \.isEmpty) else {
            throw APIError(404, "No such endpoint: \(request.method) \(request.path)")
        }
        let parts = all.dropFirst().map { Substring($0) }
        // The most specific pattern wins: `/knowledge/import` over `/knowledge/{entryId}`.
        var allowed: [String] = []
        var found: Route?
        var fewestParams = Int.max
        for route in routes {
            guard route.paramCount <= fewestParams, route.fits(parts) else { continue }
            if route.paramCount < fewestParams {
                fewestParams = route.paramCount
                allowed = []
                found = nil
            }
            allowed.append(route.method)
            if route.method == request.method { found = route }
        }
        guard !allowed.isEmpty else { throw APIError(404, "No such endpoint: \(request.method) \(request.path)") }
        guard let route = found else {
            throw APIError(405, "Method \(request.method) is not allowed here", headers: ["Allow": allowed.joined(separator: ", ")])
        }
        let params = route.params(parts)
        matched = route.label
        try checkOrigin(request)
        try checkBody(request, limit: context.config.maxBodyBytes)
        var request = request
        request.pathParams = params
        if let key = request.header(Idempotency.header), !["GET", "HEAD"].contains(request.method) {
            // Refused rather than ignored: a client retrying in the belief that its key protects it would
            // apply the change twice. (On GET and HEAD, which change nothing, it is ignored.)
            guard route.idempotent else {
                throw APIError.badRequest("Idempotency-Key is not supported on \(route.label.method) \(route.label.route)")
            }
            return try Idempotency.run(request, context, key: key) { try route.handler(request, context) }
        }
        return try route.handler(request, context)
    }

    /// Cross-site request forgery: a browser attaches the session cookie (SameSite=Lax) to a sibling
    /// site's POST too, so an unsafe method that carries the cookie must come from our own pages. Browsers
    /// say where a request comes from in `Sec-Fetch-Site`, older ones in `Origin`; a request with neither
    /// (curl, scripts) is not a browser's and passes.
    func checkOrigin(_ request: Request) throws {
        guard !["GET", "HEAD", "OPTIONS"].contains(request.method),
              request.cookie(Authenticator.cookieName) != nil else { return }
        if let site = request.header("sec-fetch-site")?.lowercased() {
            guard site == "same-origin" || site == "none" else { throw APIError(403, "Cross-site request refused") }
        } else if let origin = request.header("origin") {
            let authority = origin.range(of: "://").map { String(origin[$0.upperBound...]) } ?? ""
            guard !authority.isEmpty, authority.lowercased() == request.header("host")?.lowercased() else {
                throw APIError(403, "Cross-site request refused")
            }
        }
    }

    func checkBody(_ request: Request, limit: Int) throws {
        let declared = request.header("content-length").flatMap { Int($0) } ?? 0
        if declared > limit || request.body.count > limit {
            throw APIError(413, "Request body is larger than \(limit) bytes")
        }
        guard !request.body.isEmpty else { return }
        let type = request.header("content-type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw APIError(415, "Request body must be JSON (Content-Type: application/json)")
        }
        do {
            try JSONCheck.validate(request.body)
        } catch JSONCheck.Failure.duplicateKey(let key) {
            throw APIError.badRequest("Duplicate key in JSON body: \(key)")
        } catch JSONCheck.Failure.nulCharacter {
            throw APIError.badRequest("JSON body holds a NUL character (\\u0000), which text cannot contain")
        } catch JSONCheck.Failure.tooDeep {
            throw APIError.badRequest("JSON body is nested more than \(JSONCheck.maxDepth) levels deep")
        } catch {
            throw APIError.badRequest("Malformed JSON body")
        }
    }
}
