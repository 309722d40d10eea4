import Foundation

/// One HTTP request as the FastCGI (or CGI) layer hands it over: CGI params already decoded.
public struct Request: Sendable {
    public var method: String
    /// Path below the host, percent-decoded per segment, without the query string.
    public var path: String
    public var query: [String: String]
    /// Header names lowercased (`content-type`, `cookie`, `x-api-key`).
    public var headers: [String: String]
    public var body: [UInt8]
    public var remoteAddress: String
    public var isHTTPS: Bool
    public var requestId: String
    /// Filled by the router from `{name}` segments of the matched pattern.
    public var pathParams: [String: String] = [:]

    public init(
        method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
        body: [UInt8] = [], remoteAddress: String = "127.0.0.1", isHTTPS: Bool = false, requestId: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.isHTTPS = isHTTPS
        self.requestId = requestId
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    public func param(_ name: String) -> String { pathParams[name] ?? "" }

    public var cookies: [String: String] {
        guard let raw = headers["cookie"] else { return [:] }
        var out: [String: String] = [:]
        for part in raw.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = pair[0].trimmingCharacters(in: .whitespaces)
            if out[name] == nil { out[name] = pair[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    /// Builds a request from CGI/FastCGI parameters (`REQUEST_METHOD`, `REQUEST_URI`, `HTTP_*`, ...).
    public static func fromCGI(params: [String: String], body: [UInt8]) -> Request {
        var headers: [String: String] = [:]
        for (key, value) in params where key.hasPrefix("HTTP_") {
            headers[key.dropFirst(5).lowercased().replacingOccurrences(of: "_", with: "-")] = value
        }
        if let type = params["CONTENT_TYPE"], !type.isEmpty { headers["content-type"] = type }
        if let length = params["CONTENT_LENGTH"], !length.isEmpty { headers["content-length"] = length }

        let uri = params["REQUEST_URI"] ?? ((params["SCRIPT_NAME"] ?? "") + (params["PATH_INFO"] ?? ""))
        let rawPath = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        let queryString = params["QUERY_STRING"]
            ?? uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        let https = params["HTTPS"].map { !$0.isEmpty && $0.lowercased() != "off" } ?? false
        return Request(
            method: params["REQUEST_METHOD"] ?? "GET",
            path: decodePath(rawPath),
            query: parseQuery(queryString),
            headers: headers,
            body: body,
            remoteAddress: params["REMOTE_ADDR"] ?? "",
            isHTTPS: https,
            requestId: RequestID.accept(headers["x-request-id"])
        )
    }

    static func decodePath(_ raw: String) -> String {
        raw.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.removingPercentEncoding ?? String($0) }
            .joined(separator: "/")
    }

    static func parseQuery(_ query: String) -> [String: String] {
        var out: [String: String] = [:]
        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pair[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(pair[0])
            let value = pair.count > 1
                ? (String(pair[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(pair[1]))
                : ""
            if out[key] == nil { out[key] = value }
        }
        return out
    }
}

/// Request ids: nginx's `$request_id` (32 hex) is kept when it looks sane, else one is minted.
public enum RequestID {
    public static func accept(_ incoming: String?) -> String {
        if let id = incoming, (8...64).contains(id.utf8.count),
           id.utf8.allSatisfy({ isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "-") }) {
            return id
        }
        return Tokens.randomHex(bytes: 16)
    }
}
