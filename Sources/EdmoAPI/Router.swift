import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

public typealias Handler = @Sendable (Request, AppContext) throws -> Response

public struct Route: Sendable {
    let method: String
    let segments: [Substring]
    let handler: Handler
    /// How the metrics name it: method and pattern, never a request's path.
    let label: RouteLabel

    init(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        self.method = method
        self.segments = pattern.split(separator: "/")
        self.handler = handler
        self.label = RouteLabel(method: method, route: pattern)
    }

    /// Path params when `path` fits the pattern (`{id}` matches one non-empty segment).
    func match(_ parts: [Substring]) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var params: [String: String] = [:]
        for (pattern, part) in zip(segments, parts) {
            if pattern.first == "{" {
                params[String(pattern.dropFirst().dropLast())] = String(part)
            } else if pattern != part {
                return nil
            }
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
        var found: (Route, [String: String])?
        var fewestParams = Int.max
        for route in routes {
            guard let params = route.match(parts), params.count <= fewestParams else { continue }
            if params.count < fewestParams {
                fewestParams = params.count
                allowed = []
                found = nil
            }
            allowed.append(route.method)
            if route.method == request.method { found = (route, params) }
        }
        guard !allowed.isEmpty else { throw APIError(404, "No such endpoint: \(request.method) \(request.path)") }
        guard let (route, params) = found else {
            throw APIError(405, "Method \(request.method) is not allowed here", headers: ["Allow": allowed.joined(separator: ", ")])
        }
        matched = route.label
        try checkOrigin(request)
        try checkBody(request, limit: context.config.maxBodyBytes)
        var request = request
        request.pathParams = params
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
