import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
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

    public func header(_ name: String) -> String? {
        // Callers mostly pass lowercase names already; lowercasing a String costs more than the lookup.
        name.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
            ? headers[name.lowercased()] : headers[name]
    }

    public func param(_ name: String) -> String { pathParams[name] ?? "" }

    public var cookies: [String: String] {
        guard let raw = headers["cookie"] else { return [:] }
        var out: [String: String] = [:]
        for part in raw.split(separator: ";") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let name = part[..<eq].drop(while: { $0 == " " })
            let value = part[part.index(after: eq)...].trimmingSuffix(" ")
            if out[String(name)] == nil { out[String(name)] = String(value) }
        }
        return out
    }

    /// One cookie's value, without building the whole map (the session cookie is read on every request).
    /// Works on the UTF-8 bytes: splitting a String walks grapheme clusters, several times slower.
    public func cookie(_ name: String) -> String? {
        guard let raw = headers["cookie"] else { return nil }
        let bytes = Array(raw.utf8), wanted = Array(name.utf8)
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: ";") { end += 1 }
            var i = start
            while i < end && bytes[i] == UInt8(ascii: " ") { i += 1 }
            if end - i > wanted.count, bytes[i..<(i + wanted.count)].elementsEqual(wanted), bytes[i + wanted.count] == UInt8(ascii: "=") {
                var valueEnd = end
                while valueEnd > i + wanted.count + 1 && bytes[valueEnd - 1] == UInt8(ascii: " ") { valueEnd -= 1 }
                return String(decoding: bytes[(i + wanted.count + 1)..<valueEnd], as: UTF8.self)
            }
            start = end + 1
        }
        return nil
    }

    /// Builds a request from CGI/FastCGI parameters (`REQUEST_METHOD`, `REQUEST_URI`, `HTTP_*`, ...).
    public static func fromCGI(params: [String: String], body: [UInt8]) -> Request {
        fromCGI(CGIParams(params), body: body)
    }

    public static func fromCGI(_ params: CGIParams, body: [UInt8]) -> Request {
        var headers = params.headers
        if let type = params.contentType, !type.isEmpty { headers["content-type"] = type }
        if let length = params.contentLength, !length.isEmpty { headers["content-length"] = length }

        let uri = params.requestURI ?? ((params.scriptName ?? "") + (params.pathInfo ?? ""))
        let question = uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = question.map { String(uri[..<$0]) } ?? uri
        let queryString = params.queryString ?? question.map { String(uri[uri.index(after: $0)...]) } ?? ""
        let https = params.https.map { !$0.isEmpty && $0.lowercased() != "off" } ?? false
        return Request(
            method: params.method ?? "GET",
            path: decodePath(rawPath),
            query: parseQuery(queryString),
            headers: headers,
            body: body,
            remoteAddress: params.remoteAddress ?? "",
            isHTTPS: https,
            requestId: RequestID.accept(headers["x-request-id"])
        )
    }

    /// Percent-decodes each segment, except one that would decode to a `/` (`%2F`): it stays encoded,
    /// so `/api/auth%2Flogin` is one segment that no route has, never `/api/auth/login`. So does one with a
    /// NUL (`%00`), which no stored text holds (see `JSONCheck`).
    static func decodePath(_ raw: String) -> String {
        guard raw.utf8.contains(UInt8(ascii: "%")) else { return raw }
        return raw.split(separator: "/", omittingEmptySubsequences: false)
            .map { segment in
                guard let decoded = segment.removingPercentEncoding, !decoded.contains("/"), !decoded.contains("\0") else {
                    return String(segment)
                }
                return decoded
            }
            .joined(separator: "/")
    }

    /// `+` is a space; a part that would decode to a NUL stays as sent, like a path segment.
    static func decodeQueryPart(_ part: Substring) -> String {
        let decoded = String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        guard let decoded, !decoded.contains("\0") else { return String(part) }
        return decoded
    }

    static func parseQuery(_ query: String) -> [String: String] {
        guard !query.isEmpty else { return [:] }
        var out: [String: String] = [:]
        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decodeQueryPart(pair[0])
            let value = pair.count > 1 ? decodeQueryPart(pair[1]) : ""
            if out[key] == nil { out[key] = value }
        }
        return out
    }
}

extension Substring {
    func trimmingSuffix(_ character: Character) -> Substring {
        var end = endIndex
        while end > startIndex, self[index(before: end)] == character { end = index(before: end) }
        return self[startIndex..<end]
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
