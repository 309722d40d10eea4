import Foundation

/// The CGI/FastCGI parameters a `Request` is built from, and only those: nginx sends about twenty per
/// request (DOCUMENT_ROOT, SERVER_PORT, ...) that nothing reads, and a dictionary of all of them cost a
/// fifth of a `GET /api/auth/me` in instructions (bench/README.md "Read path: instruction counts").
/// A name sent twice takes its last value (nginx sends a location's own `fastcgi_param` after the included
/// ones).
public struct CGIParams: Sendable {
    public var method: String?
    public var requestURI: String?
    public var queryString: String?
    public var contentType: String?
    public var contentLength: String?
    public var remoteAddress: String?
    public var https: String?
    public var scriptName: String?
    public var pathInfo: String?
    /// `HTTP_*` parameters, named as HTTP headers (`HTTP_X_REQUEST_ID` -> `x-request-id`).
    public var headers: [String: String] = [:]

    public init() {}

    /// From a whole environment (plain CGI, tests).
    public init(_ environment: [String: String]) {
        for (name, value) in environment {
            var name = name
            name.withUTF8 { set($0, value) }
        }
    }

    /// One `NAME=value` entry as libfcgi hands it over (NUL-terminated); one without `=` is skipped.
    public mutating func set(entry: UnsafePointer<CChar>) {
        let length = strlen(entry)
        entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            let all = UnsafeBufferPointer(start: bytes, count: length)
            guard let eq = all.firstIndex(of: UInt8(ascii: "=")) else { return }
            let name = UnsafeBufferPointer(rebasing: all[..<eq])
            // The value is built only for a name that is kept.
            setLazily(name) { String(decoding: UnsafeBufferPointer(rebasing: all[(eq + 1)...]), as: UTF8.self) }
        }
    }

    mutating func set(_ name: UnsafeBufferPointer<UInt8>, _ value: String) { setLazily(name) { value } }

    private mutating func setLazily(_ name: UnsafeBufferPointer<UInt8>, _ value: () -> String) {
        guard let base = name.baseAddress else { return }
        // memcmp, not elementsEqual: the generic comparison with a String's UTF-8 cost more than the rest.
        func named(_ wanted: StaticString) -> Bool {
            name.count == wanted.utf8CodeUnitCount && memcmp(base, wanted.utf8Start, name.count) == 0
        }
        if name.count >= 5 && memcmp(base, ("HTTP_" as StaticString).utf8Start, 5) == 0 {
            headers[Self.headerName(UnsafeBufferPointer(rebasing: name[5...]))] = value()
            return
        }
        switch name.count {
        case 5 where named("HTTPS"): https = value()
        case 9 where named("PATH_INFO"): pathInfo = value()
        case 11 where named("REQUEST_URI"): requestURI = value()
        case 11 where named("REMOTE_ADDR"): remoteAddress = value()
        case 11 where named("SCRIPT_NAME"): scriptName = value()
        case 12 where named("QUERY_STRING"): queryString = value()
        case 12 where named("CONTENT_TYPE"): contentType = value()
        case 14 where named("REQUEST_METHOD"): method = value()
        case 14 where named("CONTENT_LENGTH"): contentLength = value()
        default: break
        }
    }

    /// `X_REQUEST_ID` (after `HTTP_`) -> `x-request-id`, byte by byte.
    static func headerName(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { out in
            for (i, byte) in bytes.enumerated() {
                switch byte {
                case UInt8(ascii: "_"): out[i] = UInt8(ascii: "-")
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): out[i] = byte + 32
                default: out[i] = byte
                }
            }
            return bytes.count
        }
    }
}
