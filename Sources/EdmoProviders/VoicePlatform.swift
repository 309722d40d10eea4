import EdmoCore
import Foundation

/// A failure talking to the voice platform. `ErrorResponder` maps it: `rejected` (the platform's 4xx) is
/// the client's problem, 400 with the platform's message; everything else is 502.
public enum ProviderError: Error, Equatable, CustomStringConvertible {
    case rejected(status: Int, message: String)
    case failed(String)

    public var description: String {
        switch self {
        case .rejected(let status, let message): "voice platform rejected the request (\(status)): \(message)"
        case .failed(let why): "voice platform unavailable: \(why)"
        }
    }
}

/// What the services need of a voice platform: a value that tests can swap for one in memory.
public protocol VoicePlatformAPI: Sendable {
    func create(_ collection: String, _ body: JSONValue) throws -> JSONValue
    func update(_ collection: String, id: String, _ body: JSONValue) throws -> JSONValue
    /// Deleting what is already gone counts as done.
    func delete(_ collection: String, id: String) throws
    /// Every object of a collection; `complete` is false when the list may lack objects that exist.
    func listAll(_ collection: String) throws -> (items: [JSONValue], complete: Bool)
    /// Calls created after a time, oldest first.
    func listCalls(createdAfter: String, limit: Int) throws -> [JSONValue]
}

/// A Vapi-compatible REST API (`EDMO_PROVIDER=vapi`): `/assistant`, `/tool`, `/phone-number`, `/credential`,
/// bearer-key auth. Nil in `AppContext` when `EDMO_PROVIDER=local`.
public struct VoicePlatform: VoicePlatformAPI {
    public var baseURL: String
    var apiKey: String
    var http: HTTPClient

    public init(baseURL: String, apiKey: String, http: HTTPClient = HTTPClient()) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.http = http
    }

    public func create(_ collection: String, _ body: JSONValue) throws -> JSONValue {
        try call("POST", "/\(collection)", body)
    }

    public func update(_ collection: String, id: String, _ body: JSONValue) throws -> JSONValue {
        try call("PATCH", "/\(collection)/\(escape(id))", body)
    }

    /// Deleting what is already gone (404) counts as done, so a retry after a crash is safe.
    public func delete(_ collection: String, id: String) throws {
        do {
            _ = try call("DELETE", "/\(collection)/\(escape(id))", nil)
        } catch ProviderError.rejected(404, _) {
            return
        }
    }

    public static let pageSize = 1000

    /// Every object of a collection, page by page: the platform lists newest first, so each next page asks
    /// for those created at or before the oldest one seen (`createdAtLe`; ids already seen are skipped),
    /// until a page brings nothing new (so a platform that pages by fewer than `limit` is read to its end
    /// too). A full page of objects already seen (more objects with one `createdAt` than a page holds) or
    /// objects without `createdAt` leave it `complete: false`: the list may then lack objects that exist.
    public func listAll(_ collection: String) throws -> (items: [JSONValue], complete: Bool) {
        try listAll(collection, pageSize: Self.pageSize)
    }

    public func listAll(_ collection: String, pageSize: Int) throws -> (items: [JSONValue], complete: Bool) {
        var items: [JSONValue] = []
        var seen: Set<String> = []
        var longestPage = 0
        var query = "limit=\(pageSize)"
        for _ in 0..<10_000 {
            guard case .array(let page) = try call("GET", "/\(collection)?\(query)", nil) else {
                throw ProviderError.failed("the platform's \(collection) list is not a JSON array")
            }
            longestPage = max(longestPage, page.count)
            var fresh = 0
            for item in page {
                guard let id = item["id"]?.stringValue, seen.insert(id).inserted else { continue }
                items.append(item)
                fresh += 1
            }
            // A page of only seen objects ends the list, unless it is a full page of objects sharing one
            // `createdAt` (paging cannot get past them).
            if fresh == 0 { return (items, page.count < longestPage || longestPage < pageSize) }
            let dates = page.compactMap { $0["createdAt"]?.stringValue }
            guard dates.count == page.count, let oldest = dates.min() else { return (items, false) }
            query = "limit=\(pageSize)&createdAtLe=\(oldest.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? oldest)"
        }
        return (items, false)
    }

    /// `GET /call?createdAtGt=...&limit=...` (a bare array), oldest first.
    public func listCalls(createdAfter: String, limit: Int) throws -> [JSONValue] {
        let query = "createdAtGt=\(createdAfter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? createdAfter)&limit=\(limit)"
        guard case .array(let items) = try call("GET", "/call?\(query)", nil) else {
            throw ProviderError.failed("the platform's call list is not a JSON array")
        }
        return items
    }

    /// The id a created object came back with.
    public static func id(of object: JSONValue) throws -> String {
        guard let id = object["id"]?.stringValue, !id.isEmpty else {
            throw ProviderError.failed("the platform's answer has no id")
        }
        return id
    }

    func escape(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? id
    }

    func call(_ method: String, _ path: String, _ body: JSONValue?) throws -> JSONValue {
        var headers = ["Authorization: Bearer \(apiKey)", "Accept: application/json"]
        var bytes: [UInt8]? = nil
        if let body {
            headers.append("Content-Type: application/json")
            bytes = try JSON.encode(body)
        }
        let response: HTTPResponse
        do {
            response = try http.send(method: method, url: baseURL + path, headers: headers, body: bytes)
        } catch let error as HTTPClientError {
            throw ProviderError.failed(error.description)
        }
        switch response.status {
        case 200..<300:
            if response.body.isEmpty { return .null }
            guard let value = try? JSONValue.parse(response.body) else {
                throw ProviderError.failed("unreadable answer (not JSON)")
            }
            return value
        case 400..<500:
            throw ProviderError.rejected(status: response.status, message: Self.message(from: response.body))
        default:
            throw ProviderError.failed("HTTP \(response.status)")
        }
    }

    /// Vapi errors look like `{"message": "..." | ["...", ...], "error": "Bad Request", "statusCode": 400}`.
    static func message(from body: [UInt8]) -> String {
        let fallback = "no details"
        guard let json = try? JSONValue.parse(body) else { return fallback }
        switch json["message"] {
        case .string(let s)?: return String(s.prefix(500))
        case .array(let items)?: return String(items.compactMap(\.stringValue).joined(separator: "; ").prefix(500))
        default: return json["error"]?.stringValue ?? fallback
        }
    }
}
