@testable import EdmoCore
import Foundation
import Testing

/// `JSONParser` reads exactly what `JSONDecoder` read into a `JSONValue` (what `JSONValue.parse` used before):
/// the same value, or an error from both, on edge cases and on thousands of generated documents and
/// mutations of them (a fixed seed, so a failure repeats). One difference is deliberate: the decoder kept the
/// first of duplicate keys and never read the later values, so it took garbage there; the parser refuses it.
struct JSONParserTests {
    static func decoder(_ bytes: [UInt8]) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }
    static func parser(_ bytes: [UInt8]) -> JSONValue? { try? JSONParser.parse(bytes) }

    static let edges = [
        "1.0", "1e2", "1E400", "-1E400", "12345678901234567890", "-12345678901234567890", "-0", "-0.0", "1.5", "0.1e1",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "1e-400", "01",
        "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "1.5e3", "2.5e-1", "100000000000000000000.0", "4.9e-324",
        #""\ud800""#, #""\udc00""#, #""\ud83d\ude00""#, #""\ud83d\u0041""#, #""\u00e9\n\t\/\b\f\r\\\"""#, #""\x""#, #""\u12""#,
        "\"a\u{01}b\"", "\"tab\there\"", "\"é ü 日本\"", "{\"a\":1,\"a\":2}", " 1 ", "\u{feff}1", "\u{feff}", "[1,]", "[,]", "[1,,2]",
        "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\":}", "{1:2}", "[", "]", "{", "}", "", " ", "nul", "truex", "true false", "[true,false,null]",
        "[[[]]]", "{\"a\":{\"b\":[1,{\"c\":null}]}}", "\"unterminated", "[1 2]", "{\"a\":1 \"b\":2}", "[\"a\",]", "\r\n\t[1]\r\n",
        String(repeating: "[", count: 511) + String(repeating: "]", count: 511),
        String(repeating: "[", count: 512) + String(repeating: "]", count: 512),
        String(repeating: "[", count: 513) + String(repeating: "]", count: 513),
        String(repeating: "{\"a\":", count: 600) + "1" + String(repeating: "}", count: 600),
    ]

    @Test func edgeCasesReadAsTheDecoderReadThem() {
        for text in Self.edges {
            let bytes = Array(text.utf8)
            #expect(Self.parser(bytes) == Self.decoder(bytes), "\(text.prefix(80))")
        }
        // The later of duplicate keys must be JSON too.
        for text in [#"{"a":1,"a":01}"#, #"{"a":1,"a":"\ud800"}"#, #"{"a":1,"a":1-2}"#] {
            #expect(Self.parser(Array(text.utf8)) == nil && Self.decoder(Array(text.utf8)) == .object(["a": .int(1)]), "\(text)")
        }
        // Bytes that are not UTF-8 inside a string, and outside one.
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0xFF], [0x5B, 0x31, 0x5D, 0x00]] {
            #expect(Self.parser(bytes) == Self.decoder(bytes), "\(bytes)")
        }
    }

    typealias Seeded = FuzzTests.SplitMix

    static func space(_ g: inout Seeded) -> String { ["", "", " ", "\n", "\t ", "\r\n"].randomElement(using: &g)! }

    static func number(_ g: inout Seeded) -> String {
        let digits = (0..<Int.random(in: 1...22, using: &g)).map { _ in String(Int.random(in: 0...9, using: &g)) }.joined()
        var text = Bool.random(using: &g) ? "-" : ""
        text += digits.first == "0" && digits.count > 1 && Bool.random(using: &g) ? String(digits.dropFirst()) : digits
        if Int.random(in: 0..<3, using: &g) == 0 { text += "." + String(Int.random(in: 0...99999, using: &g)) }
        if Int.random(in: 0..<3, using: &g) == 0 {
            text += ["e", "E"].randomElement(using: &g)! + ["", "+", "-"].randomElement(using: &g)! + String(Int.random(in: 0...400, using: &g))
        }
        return text
    }

    static func string(_ g: inout Seeded) -> String {
        let pieces = ["a", "Z", " ", "é", "日", "😀", "\\n", "\\\"", "\\\\", "\\/", "\\u0041", "\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\t", "\\u0000"]
        return "\"" + (0..<Int.random(in: 0...6, using: &g)).map { _ in pieces.randomElement(using: &g)! }.joined() + "\""
    }

    static func value(_ g: inout Seeded, depth: Int) -> String {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &g) {
        case 0: return ["true", "false", "null"].randomElement(using: &g)!
        case 1, 2: return number(&g)
        case 3, 4: return string(&g)
        case 5:
            let items = (0..<Int.random(in: 0...4, using: &g)).map { _ in space(&g) + value(&g, depth: depth + 1) + space(&g) }
            return "[" + items.joined(separator: ",") + (items.isEmpty || Int.random(in: 0..<8, using: &g) > 0 ? "" : ",") + "]"
        default:
            // Keys differ within an object (see the type's comment on duplicates).
            let keys = ["a", "b", "name", "é", "k\\u0042"].shuffled(using: &g).prefix(Int.random(in: 0...4, using: &g))
            let fields = keys.map { key in
                space(&g) + "\"" + key + "\"" + space(&g) + ":" + space(&g) + value(&g, depth: depth + 1)
            }
            return "{" + fields.joined(separator: ",") + (fields.isEmpty || Int.random(in: 0..<8, using: &g) > 0 ? "" : ",") + "}"
        }
    }

    @Test func generatedDocumentsAndTheirMutationsReadAsTheDecoderReadThem() {
        var g = Seeded(state: 20261129)
        var compared = 0, valid = 0
        for _ in 0..<3000 {
            let text = Self.space(&g) + Self.value(&g, depth: 0) + Self.space(&g)
            let original = Array(text.utf8)
            for mutation in 0..<4 {
                // The document itself, then three copies with one byte removed, inserted or replaced.
                var bytes = original
                let i = Int.random(in: 0..<bytes.count, using: &g)
                switch mutation {
                case 0: break
                case 1: bytes.remove(at: i)
                case 2: bytes.insert(Array("{}[],:\"\\-.e0 9tfn\u{1}".utf8).randomElement(using: &g)!, at: i)
                default: bytes[i] = UInt8.random(in: 0...255, using: &g)
                }
                let parsed = Self.parser(bytes)
                #expect(parsed == Self.decoder(bytes), "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
                compared += 1
                if parsed != nil { valid += 1 }
            }
        }
        // Both kinds were compared: plenty of documents read, plenty refused.
        let refused = compared - valid
        #expect(compared >= 12000)
        #expect(valid > 2000)
        #expect(refused > 2000)
    }
}
