import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// GET /api/health (readiness, for nginx and load balancers) and GET /metrics (Prometheus text; outside
/// /api, and nginx passes it on for loopback clients only).
enum OperationsRoutes {
    /// How long a client (a balancer) should wait before asking an unready host again.
    static let retryAfterSeconds = 5

    /// No authentication: 200 `{"status":"ok","store":"sqlite"|"postgres"}` when the store answers a
    /// trivial read within `StoreChecks.timeout`, else 503 with `Retry-After` (why goes to the log).
    static func health(_ request: Request, _ context: AppContext) throws -> Response {
        switch context.checkStore() {
        case .success(let engine):
            return Response.rawJSON(JSONText.object(["status": .string("ok"), "store": .string(engine)]))
        case .failure:
            throw APIError(503, "The database does not answer; this host is not ready",
                           headers: ["Retry-After": String(retryAfterSeconds)])
        }
    }

    /// Only for a client nginx says is on loopback (`REMOTE_ADDR`): nginx's own `location = /metrics`
    /// refuses everyone else first; this is the second lock, should a config pass the path on anyway.
    static func metrics(_ request: Request, _ context: AppContext) throws -> Response {
        guard isLoopback(request.remoteAddress) else { throw APIError(403, "Metrics are served to loopback clients only") }
        return Response(status: 200, headers: [("Content-Type", Metrics.contentType)], body: Array(context.metricsText().utf8))
    }

    /// 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6 (`::ffff:127.0.0.1`).
    static func isLoopback(_ address: String) -> Bool {
        let lower = address.lowercased()
        if lower == "::1" || lower == "0:0:0:0:0:0:0:1" { return true }
        let v4 = lower.hasPrefix("::ffff:") ? String(lower.dropFirst(7)) : lower
        var parts = [UInt8]()
        for part in v4.split(separator: ".", omittingEmptySubsequences: false) {
            guard let value = UInt8(part), part.count <= 3 else { return false }
            parts.append(value)
        }
        return parts.count == 4 && parts[0] == 127
    }
}
