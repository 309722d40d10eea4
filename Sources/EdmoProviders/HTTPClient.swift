import EdmoCore
import CCurl
import Foundation

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Empty when the body went to a stream's `onEvents` instead (see `HTTPClient.stream`).
    public var body: [UInt8]
    /// The body was a `text/event-stream` and was handed over as it arrived.
    public var streamed = false
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
/// no redirects (a redirect answer is returned as is, never followed to another host), no proxy (proxy
/// environment variables are ignored, so the SSRF guard sees the real destination), a response size cap.
/// Request headers (which carry keys) are never logged.
public struct HTTPClient: Sendable {
    public var connectTimeout: TimeInterval = 3
    public var totalTimeout: TimeInterval = 15
    public var maxResponseBytes = 8 << 20
    /// Off: connections to loopback, link-local and private addresses are refused (see AddressGuard).
    public var allowPrivateNetworks = false
    /// The process's outbound gate (`EDMO_OUTBOUND_CONCURRENCY`, see AppContext): every request holds one
    /// slot while it runs; when none frees up quickly, `send` throws `ServerBusyError` without connecting.
    /// Nil: ungated (tests).
    public var gate: CapacityGate?

    private static let ready: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    public init() {}

    public func send(method: String, url: String, headers: [String] = [], body: [UInt8]? = nil) throws -> HTTPResponse {
        try stream(method: method, url: url, headers: headers, body: body, onEvents: nil)
    }

    /// As `send`, but a 2xx `text/event-stream` answer is parsed as it arrives: `onEvents` gets the events
    /// each chunk completes (the returned body is then empty and `streamed` true). Any other answer is
    /// collected as `send` does. An error thrown by `onEvents` aborts the transfer and is rethrown. The
    /// total timeout and size cap cover the whole stream.
    public func stream(
        method: String, url: String, headers: [String] = [], body: [UInt8]? = nil,
        onEvents: (([ServerSentEventParser.Event]) throws -> Void)?
    ) throws -> HTTPResponse {
        precondition(Self.ready, "libcurl failed to initialise")
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw HTTPClientError.invalidURL }
        let sink = ResponseSink(limit: maxResponseBytes, allowPrivate: allowPrivateNetworks)
        sink.onEvents = onEvents
        defer { sink.onEvents = nil }  // callers may pass closures that must not outlive this call
        guard let gate else { return try perform(method: method, url: url, headers: headers, body: body, sink: sink) }
        return try gate.run { try perform(method: method, url: url, headers: headers, body: body, sink: sink) }
    }

    private func perform(method: String, url: String, headers: [String], body: [UInt8]?, sink: ResponseSink) throws -> HTTPResponse {
        // The rest of the request waits on another server (a model, the voice platform): a worker serving
        // the API meanwhile keeps a slow provider from holding up everyone else's requests.
        WorkerTurn.stepAside()
        guard let handle = curl_easy_init() else { throw HTTPClientError.unreachable("curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        sink.handle = handle
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for header in headers { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }

        edmo_curl_setopt_string(handle, CURLOPT_URL, url)
        edmo_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        edmo_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        // Never through a proxy, whatever http_proxy/HTTPS_PROXY/ALL_PROXY say: "" disables the proxy and
        // "*" exempts every host (libcurl documents both; either alone suffices).
        edmo_curl_setopt_string(handle, CURLOPT_PROXY, "")
        edmo_curl_setopt_string(handle, CURLOPT_NOPROXY, "*")
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
            // The address is read where libcurl put it: `curl_sockaddr.addr` is declared as a 16-byte
            // `sockaddr` but holds a whole `sockaddr_in6` (28 bytes) for IPv6. A copy (`target.addr`) would
            // keep only the first 8 bytes of an IPv6 address and judge the rest from garbage.
            let refused = !sink.allowPrivate && Self.isPrivate(address!, length: Int(target.addrlen))
            if refused {
                sink.refused = true
                return CURL_SOCKET_BAD
            }
            return socket(target.family, target.socktype, target.protocol)
        }
        edmo_curl_setopt_write(handle) { data, size, count, context in
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            guard sink.received + n <= sink.limit else {
                sink.overflowed = true
                return 0  // aborts the transfer
            }
            sink.received += n
            return data!.withMemoryRebound(to: UInt8.self, capacity: n) { sink.take(UnsafeBufferPointer(start: $0, count: n)) } ? n : 0
        }
        let code: CURLcode = (body ?? []).withUnsafeBufferPointer { buffer in
            if body != nil {
                edmo_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, buffer.count)
                edmo_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
            return curl_easy_perform(handle)
        }
        if let failure = sink.failure { throw failure }
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
        return HTTPResponse(status: status, body: sink.bytes, streamed: sink.parser != nil)
    }

    /// The guard's verdict on the address in libcurl's own `curl_sockaddr`, in place; too short an address
    /// for its family counts as private (refused).
    static func isPrivate(_ address: UnsafeMutablePointer<curl_sockaddr>, length: Int) -> Bool {
        let offset = MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr)!
        let family = Int32(address.pointee.family)
        let needed = family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        guard length >= needed else { return true }
        let raw = UnsafeRawPointer(address) + offset
        return AddressGuard.isPrivate(raw.assumingMemoryBound(to: sockaddr.self))
    }

    final class ResponseSink {
        let limit: Int
        let allowPrivate: Bool
        var handle: UnsafeMutableRawPointer?
        var bytes: [UInt8] = []
        var received = 0
        var overflowed = false
        var refused = false
        /// Set for `stream`; the parser exists once the answer turned out to be a 2xx event stream.
        var onEvents: (([ServerSentEventParser.Event]) throws -> Void)?
        var parser: ServerSentEventParser?
        var decided = false
        var failure: Error?

        init(limit: Int, allowPrivate: Bool) {
            self.limit = limit
            self.allowPrivate = allowPrivate
        }

        /// One chunk of the body; false aborts the transfer.
        func take(_ chunk: UnsafeBufferPointer<UInt8>) -> Bool {
            if !decided {
                decided = true
                if onEvents != nil, isEventStream() { parser = ServerSentEventParser() }
            }
            guard parser != nil, let onEvents else {
                bytes.append(contentsOf: chunk)
                return true
            }
            do {
                try onEvents(parser!.feed(chunk))
                return true
            } catch {
                failure = error
                return false
            }
        }

        /// The headers are in by the first chunk of the body: a 2xx answer of type text/event-stream?
        private func isEventStream() -> Bool {
            var status = 0
            edmo_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            var type: UnsafePointer<CChar>?
            edmo_curl_getinfo_string(handle, CURLINFO_CONTENT_TYPE, &type)
            guard (200..<300).contains(status), let type else { return false }
            return String(cString: type).lowercased().hasPrefix("text/event-stream")
        }
    }
}
