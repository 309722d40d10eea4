import CCurl
import Foundation

public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
}

public enum HTTPClientError: Error, Equatable, CustomStringConvertible {
    case timeout
    case unreachable(String)
    case responseTooLarge
    case invalidURL
    case privateAddress

    public var description: String {
        switch self {
        case .timeout: "timed out"
        case .unreachable(let why): "unreachable (\(why))"
        case .responseTooLarge: "response too large"
        case .invalidURL: "invalid URL"
        case .privateAddress: "refused: the address is on this host or a private network (EDMO_ALLOW_PRIVATE_URLS allows it)"
        }
    }
}

/// The one HTTP client for everything outbound, on libcurl: connect and total timeouts, http/https only,
/// no redirects (a redirect answer is returned as is, never followed to another host), a response size
/// cap. Request headers (which carry keys) are never logged.
public struct HTTPClient: Sendable {
    public var connectTimeout: TimeInterval = 3
    public var totalTimeout: TimeInterval = 15
    public var maxResponseBytes = 8 << 20
    /// Off: connections to loopback, link-local and private addresses are refused (see AddressGuard).
    public var allowPrivateNetworks = false

    private static let ready: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    public init() {}

    public func send(method: String, url: String, headers: [String] = [], body: [UInt8]? = nil) throws -> HTTPResponse {
        precondition(Self.ready, "libcurl failed to initialise")
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw HTTPClientError.invalidURL }
        guard let handle = curl_easy_init() else { throw HTTPClientError.unreachable("curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }

        let sink = ResponseSink(limit: maxResponseBytes, allowPrivate: allowPrivateNetworks)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for header in headers { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }

        edmo_curl_setopt_string(handle, CURLOPT_URL, url)
        edmo_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        edmo_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        edmo_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        edmo_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
        edmo_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(totalTimeout * 1000))
        edmo_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
        edmo_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
        edmo_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer)
        edmo_curl_setopt_pointer(handle, CURLOPT_OPENSOCKETDATA, sinkPointer)
        edmo_curl_setopt_opensocket(handle) { context, _, address in
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            let target = address!.pointee
            let refused = withUnsafePointer(to: target.addr) { !sink.allowPrivate && AddressGuard.isPrivate($0) }
            if refused {
                sink.refused = true
                return CURL_SOCKET_BAD
            }
            return socket(target.family, target.socktype, target.protocol)
        }
        edmo_curl_setopt_write(handle) { data, size, count, context in
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            guard sink.bytes.count + n <= sink.limit else {
                sink.overflowed = true
                return 0  // aborts the transfer
            }
            data!.withMemoryRebound(to: UInt8.self, capacity: n) { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        }
        let code: CURLcode = (body ?? []).withUnsafeBufferPointer { buffer in
            if body != nil {
                edmo_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, buffer.count)
                edmo_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
            return curl_easy_perform(handle)
        }
        switch code {
        case CURLE_OK: break
        case _ where sink.refused: throw HTTPClientError.privateAddress
        case CURLE_OPERATION_TIMEDOUT: throw HTTPClientError.timeout
        case CURLE_WRITE_ERROR where sink.overflowed: throw HTTPClientError.responseTooLarge
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: throw HTTPClientError.invalidURL
        default: throw HTTPClientError.unreachable(String(cString: curl_easy_strerror(code)))
        }
        var status = 0
        edmo_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, body: sink.bytes)
    }

    final class ResponseSink {
        let limit: Int
        let allowPrivate: Bool
        var bytes: [UInt8] = []
        var overflowed = false
        var refused = false
        init(limit: Int, allowPrivate: Bool) {
            self.limit = limit
            self.allowPrivate = allowPrivate
        }
    }
}
