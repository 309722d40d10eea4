import Foundation
import Testing

@testable import EdmoFastCGI

@Suite struct FastCGITests {
    @Test func paramsAreReadFromTheCGIEnvironmentArray() {
        let entries = [
            "REQUEST_METHOD=POST", "QUERY_STRING=a=1&b=2", "CONTENT_TYPE=", "HTTP_X_REQUEST_ID=abc=d", "HTTP_COOKIE=",
            "DOCUMENT_ROOT=/srv", "NOEQUALS", "HTTPS=on",
        ]
        var pointers: [UnsafeMutablePointer<CChar>?] = entries.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        let params = pointers.withUnsafeMutableBufferPointer { FastCGIServer.params($0.baseAddress) }
        #expect(params.method == "POST")
        #expect(params.queryString == "a=1&b=2")
        #expect(params.contentType == "")
        #expect(params.https == "on")
        #expect(params.requestURI == nil && params.contentLength == nil && params.remoteAddress == nil)
        #expect(params.headers == ["x-request-id": "abc=d", "cookie": ""])
        let none = FastCGIServer.params(nil)
        #expect(none.method == nil && none.headers.isEmpty)
    }

    /// nginx sends a location's own `fastcgi_param` after those of an included file, both: the last one is
    /// taken (README "Operating a fleet": a per-host metrics location sets REQUEST_URI to /metrics).
    @Test func aParameterSentTwiceTakesItsLastValue() {
        let entries = ["REQUEST_URI=/metrics/host-b", "HTTP_HOST=a", "REQUEST_URI=/metrics", "HTTP_HOST=b"]
        var pointers: [UnsafeMutablePointer<CChar>?] = entries.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        let params = pointers.withUnsafeMutableBufferPointer { FastCGIServer.params($0.baseAddress) }
        #expect(params.requestURI == "/metrics")
        #expect(params.headers == ["host": "b"])
    }

    @Test func tcpListenRequiresAnExplicitHost() {
        for address in [":9000", "9000", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http"] {
            #expect(throws: ListenerError.self) { try Listener.tcp(address) }
        }
    }

    @Test func systemdSocketIsTakenOnlyWhenPassedToThisProcess() {
        #expect(Listener.systemd(environment: ["LISTEN_PID": "1", "LISTEN_FDS": "1"]) == nil)
        #expect(Listener.systemd(environment: ["LISTEN_PID": String(getpid()), "LISTEN_FDS": "0"]) == nil)
        #expect(Listener.systemd(environment: ["LISTEN_PID": String(getpid()), "LISTEN_FDS": "1"]) == 3)
    }

    @Test func aUnixSocketIsCreatedWithTheRequestedMode() throws {
        let path = NSTemporaryDirectory() + "edmo-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
        let fd = try Listener.unixSocket(path: path, mode: 0o640)
        defer { close(fd); unlink(path) }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
        #expect(attributes[.type] as? FileAttributeType == .typeSocket)
    }
}
