@testable import EdmoAPI
import EdmoCore
@testable import EdmoService
import Foundation
import Testing

/// The read path's hand-made pieces (bench/README.md "Read path: instruction counts") give what the
/// general code they replace gave.
@Suite struct ReadPathTests {
    @Test func aListOfDocumentsIsOneJSONArray() throws {
        #expect(Response.rawJSONArray([]).bodyString == "[]")
        #expect(Response.rawJSONArray(["{\"a\":1}"]).bodyString == "[{\"a\":1}]")
        let list = Response.rawJSONArray(["{\"a\":\"ü😀\"}", "{}", "[1,2]"])
        #expect(list.bodyString == "[{\"a\":\"ü😀\"},{},[1,2]]")
        #expect(list.header("content-type") == "application/json")
        #expect(list.body.count == list.bodyString.utf8.count)
    }

    @Test func theHeadIsTheStatusLineTheHeadersAndContentLength() {
        var response = Response(status: 404, headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        response.addHeader("X-Request-Id", "abc")
        #expect(String(decoding: response.serialized(), as: UTF8.self)
            == "Status: 404 Not Found\r\nContent-Type: application/json\r\nX-Request-Id: abc\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func jsonTextEscapesAsBefore() {
        var out: [UInt8] = []
        JSONText.appendString("plain ü", to: &out)
        JSONText.appendString("q\"b\\n\nr\rt\t\u{1}\u{1f}é", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "\"plain ü\"\"q\\\"b\\\\n\\nr\\rt\\t\\u0001\\u001fé\"")
        #expect(JSONText.object(["a": .string(nil), "b": .bool(false), "c": .raw("[1]"), "d": .string("x")])
            == "{\"a\":null,\"b\":false,\"c\":[1],\"d\":\"x\"}")
    }

    @Test func headerLookupIgnoresTheCaseOfTheName() {
        let request = Request(method: "GET", path: "/", headers: ["x-api-key": "k"])
        #expect(request.header("X-Api-Key") == "k")
        #expect(request.header("x-api-key") == "k")
        #expect(request.header("x-other") == nil)
    }

    /// Lines from many threads at once all arrive, whole, each thread's in its order.
    @Test func theLineWriterLosesAndInterleavesNothing() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let writer = LineWriter(fd: writeEnd)
        let reader = Thread.detachNewThreadResult { () -> Data in
            FileHandle(fileDescriptor: readEnd, closeOnDealloc: true).readDataToEndOfFile()
        }
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<500 { writer.write("thread \(thread) line \(i) " + String(repeating: "x", count: i % 50)) }
        }
        close(writeEnd)
        let lines = String(decoding: reader.wait(), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 8 * 500)
        for thread in 0..<8 {
            let mine = lines.filter { $0.hasPrefix("thread \(thread) ") }
            #expect(mine == (0..<500).map { i in Substring("thread \(thread) line \(i) " + String(repeating: "x", count: i % 50)) })
        }
    }
}

extension Thread {
    /// A thread's result, waited for (the test's reader of the pipe).
    final class Result<T>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var value: T?
        func set(_ value: T) { self.value = value; done.signal() }
        func wait() -> T { done.wait(); return value! }
    }

    static func detachNewThreadResult<T>(_ body: @escaping @Sendable () -> T) -> Result<T> {
        let result = Result<T>()
        Thread.detachNewThread { result.set(body()) }
        return result
    }
}
