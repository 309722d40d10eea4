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

    /// A JSON array of elements that are already JSON text (a list of stored documents), written once into
    /// the body: joining, bracketing and converting to bytes copied a 70 KB list three times.
    public static func rawJSONArray(_ elements: [String], status: Int = 200) -> Response {
        var body: [UInt8] = []
        body.reserveCapacity(elements.reduce(2 + max(elements.count - 1, 0)) { $0 + $1.utf8.count })
        body.append(UInt8(ascii: "["))
        for (i, element) in elements.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: element.utf8)
        }
        body.append(UInt8(ascii: "]"))
        return Response(status: status, headers: [("Content-Type", "application/json")], body: body)
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
        do {
            try writer.write(head())
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

    /// `Status:` line, headers and the blank line, as bytes (string interpolation cost more than the rest of
    /// sending a small answer).
    func head() -> [UInt8] {
        var head: [UInt8] = []
        head.reserveCapacity(256)
        func line(_ name: String, _ value: String) {
            head.append(contentsOf: name.utf8)
            head.append(contentsOf: ": ".utf8)
            head.append(contentsOf: value.utf8)
            head.append(contentsOf: "\r\n".utf8)
        }
        line("Status", "\(status) \(Response.reason(status))")
        for (name, value) in headers { line(name, value) }
        if stream == nil { line("Content-Length", String(body.count)) }
        head.append(contentsOf: "\r\n".utf8)
        return head
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
        case 422: "Unprocessable Content"
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
