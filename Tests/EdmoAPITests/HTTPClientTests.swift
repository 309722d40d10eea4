import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoAPI
import Foundation
import Synchronization
import Testing

/// A one-connection HTTP server on 127.0.0.1: reads one request, waits `delay`, writes `response` raw.
final class OneShotServer: Sendable {
    let port: UInt16
    let received = Mutex<String>("")

    init(response: [UInt8], delay: TimeInterval = 0) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        listen(listener, 4)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in
            let client = accept(listener, nil, nil)
            close(listener)  // one connection only: later connects are refused
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(client, &buffer, buffer.count)
            received.withLock { $0 = String(decoding: buffer[0..<max(0, n)], as: UTF8.self) }
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
            _ = response.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count) }
            close(client)
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    static func http(_ status: String, _ body: String, headers: String = "") -> [UInt8] {
        Array("HTTP/1.1 \(status)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\(headers)\r\n\(body)".utf8)
    }
}

extension HTTPClient {
    /// For the one-shot servers on 127.0.0.1.
    static var local: HTTPClient {
        var client = HTTPClient()
        client.allowPrivateNetworks = true
        return client
    }
}

@Suite struct HTTPClientTests {
    @Test func loopbackAndPrivateAddressesAreRefusedByDefault() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", "{}"))
        #expect(throws: HTTPClientError.privateAddress) { try HTTPClient().send(method: "GET", url: server.url) }
        #expect(throws: HTTPClientError.privateAddress) { try HTTPClient().send(method: "GET", url: "http://169.254.169.254/latest/meta-data/") }
        #expect(throws: HTTPClientError.privateAddress) { try HTTPClient().send(method: "GET", url: "http://localhost:9/") }
        #expect(try HTTPClient.local.send(method: "GET", url: server.url).status == 200)
    }

    @Test func addressClassification() {
        for host in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "0.0.0.0",
                     "100.64.0.1", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "localhost", "api.localhost"] {
            #expect(AddressGuard.isPrivateHost(host), "\(host)")
        }
        for host in ["8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700::1111", "api.openai.com"] {
            #expect(!AddressGuard.isPrivateHost(host), "\(host)")
        }
    }

    @Test func sendsTheRequestAndReadsTheAnswer() throws {
        let server = try OneShotServer(response: OneShotServer.http("201 Created", #"{"id":"a1"}"#))
        let response = try HTTPClient.local.send(
            method: "POST", url: server.url + "/assistant", headers: ["Authorization: Bearer k1", "Content-Type: application/json"],
            body: Array(#"{"name":"x"}"#.utf8))
        #expect(response.status == 201)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"id":"a1"}"#)
        let request = server.received.withLock { $0 }
        #expect(request.hasPrefix("POST /assistant HTTP/1.1\r\n"))
        #expect(request.contains("Authorization: Bearer k1\r\n"))
        #expect(request.hasSuffix(#"{"name":"x"}"#))
    }

    @Test func redirectsAreNotFollowed() throws {
        let server = try OneShotServer(response: OneShotServer.http("302 Found", "", headers: "Location: http://169.254.169.254/\r\n"))
        #expect(try HTTPClient.local.send(method: "GET", url: server.url + "/x").status == 302)
    }

    @Test func theResponseSizeIsCapped() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", String(repeating: "x", count: 100_000)))
        var client = HTTPClient.local
        client.maxResponseBytes = 10_000
        #expect(throws: HTTPClientError.responseTooLarge) { try client.send(method: "GET", url: server.url) }
    }

    @Test func slowAnswersTimeOut() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", "{}"), delay: 3)
        var client = HTTPClient.local
        client.totalTimeout = 0.5
        #expect(throws: HTTPClientError.timeout) { try client.send(method: "GET", url: server.url) }
    }

    @Test func onlyHTTPAndHTTPSAndReachableHosts() throws {
        #expect(throws: HTTPClientError.invalidURL) { try HTTPClient.local.send(method: "GET", url: "ftp://127.0.0.1/x") }
        #expect(throws: HTTPClientError.invalidURL) { try HTTPClient.local.send(method: "GET", url: "file:///etc/passwd") }
        let closed = try OneShotServer(response: [])
        let port = closed.port
        _ = try? HTTPClient().send(method: "GET", url: closed.url)  // consume the one connection
        #expect(throws: HTTPClientError.self) { try HTTPClient.local.send(method: "GET", url: "http://127.0.0.1:\(port)/") }
    }

    @Test func platformErrorsMapToClearMessages() throws {
        let rejected = try OneShotServer(response: OneShotServer.http("400 Bad Request", #"{"message":["name too long","voice invalid"],"statusCode":400}"#))
        #expect(throws: ProviderError.rejected(status: 400, message: "name too long; voice invalid")) {
            try VoicePlatform(baseURL: rejected.url, apiKey: "k", http: .local).create("assistant", .object([:]))
        }
        let broken = try OneShotServer(response: OneShotServer.http("500 Internal Server Error", "oops"))
        #expect(throws: ProviderError.failed("HTTP 500")) { try VoicePlatform(baseURL: broken.url, apiKey: "k", http: .local).create("assistant", .object([:])) }
        let garbage = try OneShotServer(response: OneShotServer.http("200 OK", "<html>"))
        #expect(throws: ProviderError.failed("unreadable answer (not JSON)")) {
            try VoicePlatform(baseURL: garbage.url, apiKey: "k", http: .local).create("assistant", .object([:]))
        }
        let gone = try OneShotServer(response: OneShotServer.http("404 Not Found", #"{"message":"Not Found"}"#))
        try VoicePlatform(baseURL: gone.url, apiKey: "k", http: .local).delete("assistant", id: "x")  // already gone counts as done
    }
}

@Suite struct SecretBoxAndMergeTests {
    @Test func sealsAndOpensAndRejectsTampering() {
        let box = SecretBox(key: Array(repeating: 9, count: 32))
        let sealed = box.seal(Array("token-123".utf8))
        #expect(box.open(sealed) == Array("token-123".utf8))
        #expect(box.seal(Array("token-123".utf8)) != sealed)  // fresh nonce every time
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(box.open(tampered) == nil)
        #expect(SecretBox(key: Array(repeating: 8, count: 32)).open(sealed) == nil)
    }

    @Test func mergePatchFollowsRFC7396() throws {
        let target = try JSONValue.parse(Array(#"{"a":"b","c":{"d":"e","f":"g"}}"#.utf8))
        let patch = try JSONValue.parse(Array(#"{"a":"z","c":{"f":null}}"#.utf8))
        #expect(target.merged(with: patch) == (try JSONValue.parse(Array(#"{"a":"z","c":{"d":"e"}}"#.utf8))))
    }
}
