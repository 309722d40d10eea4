import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
@testable import EdmoAPI
import Foundation
import Testing

/// Property-based fuzzing, bounded: mutated JSON and random bytes through the JSON check, the decoders and
/// the whole router. Nothing may crash, nothing may be a 5xx, and what the JSON check passes Foundation can
/// parse, but for numbers out of range (which the decoders turn into a 400). The check refuses more than
/// Foundation (trailing commas, duplicate keys, deep nesting): that is on purpose.
@Suite struct FuzzTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let seeds: [String] = [
        assistantBody, #"{"email":"a@b.c","password":"pw"}"#, #"{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}"#,
        #"{"entries":[{"title":"t","content":"c","questions":["q"]}]}"#, #"{"message":{"type":"end-of-call-report","call":{"id":"c"}}}"#,
        #"[1, -2.5e3, true, null, "\u00e9\n"]"#,
    ]
    static let tokens: [[UInt8]] = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "0", "-", "e", "1e999", "null", "true", "\u{0}", "\\ud800", "ä", "😀"]
        .map { Array($0.utf8) } + [[0xff], [0xc3], [0xed, 0xa0, 0x80]]

    func mutate(_ input: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0 where !bytes.isEmpty: bytes.remove(at: at)
            case 1: bytes.insert(contentsOf: Self.tokens.randomElement(using: &rng)!, at: at)
            case 2 where !bytes.isEmpty: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            default: bytes.insert(contentsOf: bytes[at...].prefix(8), at: at)
            }
        }
        return bytes
    }

    @Test func theJSONCheckAgreesWithFoundationAndNeverCrashes() {
        var rng = SplitMix(state: 42)
        for i in 0..<20_000 {
            let input = i % 10 == 0
                ? (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                : mutate(Array(Self.seeds.randomElement(using: &rng)!.utf8), &rng)
            let foundation = (try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed])) != nil
            let text = String(decoding: input, as: UTF8.self)
            let hugeNumber = text.range(of: #"[eE][+-]?[0-9]{3,}"#, options: .regularExpression) != nil
            if (try? JSONCheck.validate(input)) != nil {
                #expect(foundation || hugeNumber, "passed what Foundation refuses: \(text)")
            }
        }
    }

    @Test func theRouterAnswersEveryMutatedBodyWithoutA5xx() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let token = try app.login("admin@example.edu")
        var rng = SplitMix(state: 7)
        let paths = ["/api/assistants", "/api/tools", "/api/users", "/api/chat", "/api/phone-numbers", "/api/auth/login"]
        for _ in 0..<3_000 {
            let body = mutate(Array(Self.seeds.randomElement(using: &rng)!.utf8), &rng)
            var request = Request(
                method: "POST", path: paths.randomElement(using: &rng)!,
                headers: ["content-type": "application/json", "content-length": String(body.count), "cookie": "auth-token=\(token)"],
                body: body, requestId: "fuzz")
            request.remoteAddress = "10.9.9.\(Int.random(in: 1...250, using: &rng))"
            let response = app.router.handle(request, app.context)
            #expect(response.status < 500, "\(request.path) \(String(decoding: body, as: UTF8.self)) -> \(response.status) \(response.bodyString)")
        }
    }

    @Test func cgiParametersOfAnyShapeMakeARequest() {
        var rng = SplitMix(state: 99)
        for _ in 0..<5_000 {
            var params: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...8, using: &rng) {
                let key = ["REQUEST_URI", "QUERY_STRING", "HTTP_COOKIE", "HTTP_X_REQUEST_ID", "CONTENT_LENGTH", "HTTPS", "HTTP_", "REQUEST_METHOD"]
                    .randomElement(using: &rng)!
                params[key] = String(decoding: mutate(Array("/api/x?a=%zz&b=1%2F; auth-token=".utf8), &rng), as: UTF8.self)
            }
            let request = Request.fromCGI(params: params, body: [])
            _ = request.cookie("auth-token")
            #expect(!request.requestId.isEmpty)
        }
    }
}
