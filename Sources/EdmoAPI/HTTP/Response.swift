import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

public struct Response: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// A body produced while it is sent (a large export, a stream of events): called once the head is
    /// out, it writes chunks as they are ready. Such a response has no Content-Length (the end of the
    /// FastCGI stream ends it) and tells nginx not to buffer it.
    public var stream: (@Sendable (any ResponseWriter) throws -> Void)?

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json<T: Encodable>(_ value: T, status: Int = 200) throws -> Response {
        Response(status: status, headers: [("Content-Type", "application/json")], body: try JSON.encode(value))
    }

    /// A streaming response: `produce` writes the body in chunks (see `stream`).
    public static func streaming(
        status: Int = 200, contentType: String, produce: @escaping @Sendable (any ResponseWriter) throws -> Void
    ) -> Response {
        var response = Response(status: status, headers: [("Content-Type", contentType), ("X-Accel-Buffering", "no")])
        response.stream = produce
        return response
    }

    /// A body that is already JSON text (stored documents are served as they are).
    public static func rawJSON(_ text: String, status: Int = 200) -> Response {
        Response(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    public mutating func addHeader(_ name: String, _ value: String) { headers.append((name, value)) }

    /// The CGI/FastCGI wire form: `Status:` line, headers, blank line, body (a stream's chunks collected).
    public func serialized() -> [UInt8] {
        let buffer = BufferWriter()
        send(to: buffer)
        return buffer.bytes
    }

    /// Writes the head, then the body, or the stream's chunks (flushing before and after). A stream that
    /// fails after its head is out cannot change the status any more: it just ends (the client sees a
    /// short body); `onStreamError` hears why.
    public func send(to writer: any ResponseWriter, onStreamError: (Error) -> Void = { _ in }) {
        var head = "Status: \(status) \(Response.reason(status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if stream == nil { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        do {
            try writer.write(Array(head.utf8))
            if let stream {
                try writer.flush()
                try stream(writer)
                try writer.flush()
            } else {
                try writer.write(body)  // flushed when the request finishes
            }
        } catch {
            onStreamError(error)
        }
    }

    public var bodyString: String { String(decoding: body, as: UTF8.self) }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 412: "Precondition Failed"
        case 413: "Payload Too Large"
        case 415: "Unsupported Media Type"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 507: "Insufficient Storage"
        default: "Status"
        }
    }
}

/// Where a response goes: the FastCGI stream, stdout in CGI mode, or memory in tests.
public protocol ResponseWriter {
    func write(_ bytes: [UInt8]) throws
    /// Sends what was written so far now, not when a buffer fills.
    func flush() throws
}

/// Collects a response in memory.
public final class BufferWriter: ResponseWriter {
    public private(set) var bytes: [UInt8] = []
    public private(set) var flushes = 0

    public init() {}

    public func write(_ bytes: [UInt8]) throws { self.bytes += bytes }
    public func flush() throws { flushes += 1 }
}
