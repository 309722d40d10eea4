@testable import EdmoAPI
import Foundation
import Testing

@Suite struct StreamingTests {
    struct Broken: Error {}

    @Test func aStreamedBodyGoesOutChunkByChunkWithoutALength() {
        let response = Response.streaming(contentType: "text/csv") { writer in
            for i in 1...3 {
                try writer.write(Array("row \(i)\n".utf8))
                try writer.flush()
            }
        }
        let buffer = BufferWriter()
        response.send(to: buffer)
        let text = String(decoding: buffer.bytes, as: UTF8.self)
        #expect(text.hasPrefix("Status: 200 OK\r\nContent-Type: text/csv\r\nX-Accel-Buffering: no\r\n\r\n"))
        #expect(text.hasSuffix("\r\n\r\nrow 1\nrow 2\nrow 3\n"))
        #expect(!text.contains("Content-Length"))
        #expect(buffer.flushes == 5)  // after the head, after each row, at the end
    }

    @Test func aStreamThatFailsEndsTheBodyAndIsReported() {
        let response = Response.streaming(contentType: "text/plain") { writer in
            try writer.write(Array("partial".utf8))
            throw Broken()
        }
        let buffer = BufferWriter()
        var reported: Error?
        response.send(to: buffer) { reported = $0 }
        #expect(String(decoding: buffer.bytes, as: UTF8.self).hasSuffix("\r\n\r\npartial"))
        #expect(reported is Broken)
    }

    @Test func aPlainBodyKeepsItsLength() {
        let response = Response.rawJSON(#"{"a":1}"#)
        #expect(String(decoding: response.serialized(), as: UTF8.self)
            == "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
    }

    @Test func streamingThroughTheRouterKeepsItsHeaders() throws {
        let app = try TestApp()
        let router = Router(routes: [
            Route("GET", "/api/stream") { _, _ in Response.streaming(contentType: "text/plain") { try $0.write(Array("x".utf8)) } },
        ])
        let answered = router.handle(Request(method: "GET", path: "/api/stream", requestId: "r1"), app.context)
        let text = String(decoding: answered.serialized(), as: UTF8.self)
        #expect(text.contains("X-Request-Id: r1\r\n") && text.hasSuffix("\r\n\r\nx"))
    }
}
