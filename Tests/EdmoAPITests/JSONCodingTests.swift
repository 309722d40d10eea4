@testable import EdmoCore
import Foundation
import Testing

/// `JSON.encode` (`JSONTreeEncoder` + `serialized()`) writes byte for byte what `JSONEncoder` wrote, and
/// `JSON.decode` from a tree (`JSONTreeDecoder`) reads what `JSONDecoder` read, with the same 400 message,
/// on hand-picked cases and on generated documents and models (a fixed seed, so a failure repeats).
struct JSONCodingTests {
    typealias Seeded = FuzzTests.SplitMix

    static func foundation<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func ours<T: Encodable>(_ value: T) throws -> String { String(decoding: try JSON.encode(value), as: UTF8.self) }

    @Test func valuesAreWrittenAsJSONEncoderWritesThem() throws {
        var g = Seeded(state: 7)
        var values: [JSONValue] = [
            .string("a\u{1}\u{1f}\t\n\r\u{8}\u{c}\"\\/\u{7f}\u{2028}é😀"), .string(""), .null, .bool(true), .int(Int.min), .int(Int.max),
            .double(0.1), .double(-0.0), .double(1e20), .double(1e-7), .double(100), .double(1.5e300), .double(5e-324),
            .double(123456789012345678), .double(0.30000000000000004), .double(Double.greatestFiniteMagnitude),
            .object(["B": .int(1), "a10": .int(2), "a9": .null, "_": "x", "é": .bool(false), "e": .array([.int(1)]), "Z": .object([:]), "": .double(0.5)]), .array([]), .object([:]),
        ]
        for _ in 0..<2000 {
            values.append(.double(Double(bitPattern: g.next())))
            if let value = try? JSONParser.parse(Array(JSONParserTests.value(&g, depth: 0).utf8)) { values.append(value) }
        }
        var written = 0
        for value in values {
            let expected = try? Self.foundation(value)
            #expect((try? Self.ours(value)) == expected, "\(value)")
            if expected != nil { written += 1 }
        }
        #expect(written > 2500)
        // Not JSON: refused by both.
        #expect(throws: EncodingError.self) { try Self.ours(JSONValue.double(.nan)) }
        #expect(throws: EncodingError.self) { try Self.ours(JSONValue.array([.double(.infinity)])) }
    }

    struct Sample: Codable, Equatable {
        var text: String
        var optional: String?
        @Nullable var nullable: Int?
        var float: Float
        var small: Int8
        var unsigned: UInt
        var date: Date
        var url: URL
        var list: [[String: Int]]
        var nested: [Sample]?
        var free: JSONValue

        static func == (a: Sample, b: Sample) -> Bool { (try? JSONCodingTests.foundation(a)) == (try? JSONCodingTests.foundation(b)) }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            text = try c.decode(String.self, forKey: .text)
            optional = try c.decodeIfPresent(String.self, forKey: .optional)
            nullable = try c.decodeIfPresent(Int.self, forKey: .nullable)
            float = try c.decode(Float.self, forKey: .float)
            small = try c.decode(Int8.self, forKey: .small)
            unsigned = try c.decode(UInt.self, forKey: .unsigned)
            date = try c.decode(Date.self, forKey: .date)
            url = try c.decode(URL.self, forKey: .url)
            list = try c.decode([[String: Int]].self, forKey: .list)
            nested = try c.decodeIfPresent([Sample].self, forKey: .nested)
            free = try c.decode(JSONValue.self, forKey: .free)
        }

        init(_ g: inout Seeded, depth: Int = 0) {
            text = ["", "plain", "quote \" and \\ and /", "ctl \u{1}\u{8}"].randomElement(using: &g)!
            optional = Bool.random(using: &g) ? nil : "set"
            _nullable = Nullable(wrappedValue: Bool.random(using: &g) ? nil : Int.random(in: -5...5, using: &g))
            float = [0.1, 1, -2.5, 3.4e38, 1e-10].randomElement(using: &g)!
            small = Int8.random(in: -128...127, using: &g)
            unsigned = UInt.random(in: 0...UInt(Int.max), using: &g)
            date = Date(timeIntervalSinceReferenceDate: Double(Int.random(in: -1_000_000...1_000_000, using: &g)) / 8)
            url = URL(string: ["https://example.edu/a/b?c=d", "relative/path", "mailto:a@example.edu"].randomElement(using: &g)!)!
            list = (0..<Int.random(in: 0...3, using: &g)).map { i in ["k\(i)": i, "K": -i] }
            nested = depth < 2 && Bool.random(using: &g) ? (0..<2).map { _ in Sample(&g, depth: depth + 1) } : nil
            // A free value is kept as it was read. One that reads back otherwise once written (a fraction past
            // 2^53 that rounded to a whole number: JSONDecoder's rule, which the parser keeps) is left out.
            let free = (try? JSONParser.parse(Array(JSONParserTests.value(&g, depth: 2).utf8))) ?? .null
            self.free = (try? JSONParser.parse(free.serialized())) == free ? free : .null
        }
    }

    /// A custom encoding with nested containers and a super encoder, which the models here do not use.
    struct Nested: Encodable {
        enum Keys: String, CodingKey { case outer, list, last }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            var outer = c.nestedContainer(keyedBy: Keys.self, forKey: .outer)
            try outer.encode(1, forKey: .last)
            var list = c.nestedUnkeyedContainer(forKey: .list)
            try list.encode("a")
            var inner = list.nestedContainer(keyedBy: Keys.self)
            try inner.encode(true, forKey: .last)
            try list.encodeNil()
            try "super".encode(to: c.superEncoder(forKey: .last))
        }
    }

    @Test func modelsAreWrittenAsJSONEncoderWritesThem() throws {
        var g = Seeded(state: 11)
        for _ in 0..<300 {
            let sample = Sample(&g)
            #expect(try Self.ours(sample) == Self.foundation(sample))
            // The tree is what its text reads back as (an audit diff compares a new tree with a stored text).
            let tree = try JSONValue(encoding: sample)
            let text = try tree.serialized()
            #expect(try JSONParser.parse(text) == tree, "\(String(decoding: text, as: UTF8.self))")
        }
        // Numbers too, with the two deliberate differences from JSONEncoder's text (same value read back).
        for _ in 0..<3000 {
            let number = Double(bitPattern: g.next())
            guard number.isFinite else { continue }
            let tree = try JSONValue(encoding: [number])
            #expect(try JSONParser.parse(tree.serialized()) == tree, "\(number)")
            if number != 0, number.magnitude < 9_007_199_254_740_992 || Int(exactly: number) == nil {
                #expect(try Self.ours([number]) == Self.foundation([number]), "\(number)")
            }
        }
        for number in [1.0, 100, -5, 0.5, 1e15, 1e16, 1e300, -0.0, 0.0] {
            let tree = try JSONValue(encoding: [number])
            #expect(try JSONParser.parse(tree.serialized()) == tree, "\(number)")
        }
        #expect(try Self.ours([-0.0, 1e16]) == "[0,10000000000000000]")
        #expect(try Self.ours(Nested()) == Self.foundation(Nested()))
        for document in [Self.assistant, Self.tool] {
            let tree = try JSONParser.parse(Array(document.utf8))
            if document == Self.assistant {
                let config = try JSON.decode(AssistantConfig.self, from: tree)
                #expect(try Self.ours(config) == Self.foundation(config))
            } else {
                let config = try JSON.decode(ToolConfig.self, from: tree)
                #expect(try Self.ours(config) == Self.foundation(config))
            }
        }
    }

    static let assistant = """
        {"name":"Bench","firstMessage":"Hello!","firstMessageMode":"assistant-speaks-first","model":{"provider":"openai",
        "model":"gpt-4o","temperature":0.7,"maxTokens":1024,"messages":[{"role":"system","content":"You help."}]},
        "voice":{"provider":"openai","voiceId":"alloy"},"transcriber":{"provider":"deepgram","model":"nova-2"},
        "endCallPhrases":["goodbye","bye"],"metadata":{"team":"admissions","n":[1,null,{"x":null}]},"maxDurationSeconds":1800,
        "backgroundSound":"office","recordingEnabled":true,"voicemailMessage":"v","endCallMessage":"e"}
        """

    static let tool = """
        {"type":"function","function":{"name":"lookup","description":"Looks up","parameters":{"type":"object",
        "properties":{"id":{"type":"string","description":"the id","enum":["a","b"]},"n":{"type":"array","items":{"type":"number"}}},
        "required":["id"]}},"server":{"url":"https://api.example.edu/hook","secret":"s3cret"},"async":false,
        "messages":[{"type":"request-start","content":"One moment"}]}
        """

    enum Outcome<T> {
        case read(T)
        case refused(String)
    }

    /// What JSONDecoder made of `bytes`: the model, or the 400 message of its error.
    static func read<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], ours: Bool) -> Outcome<T> {
        do {
            if ours { return .read(try JSON.decode(T.self, from: try JSONParser.parse(bytes))) }
            return .read(try JSONDecoder().decode(T.self, from: Data(bytes)))
        } catch let error as DecodingError {
            return .refused(JSON.describe(error))
        } catch {
            return .refused("Malformed JSON body")
        }
    }

    /// A copy of `tree` with the value at one random place replaced by a generated one.
    static func mutate(_ tree: JSONValue, _ g: inout Seeded) -> JSONValue {
        switch tree {
        case .object(var fields) where !fields.isEmpty && Int.random(in: 0..<4, using: &g) > 0:
            let key = fields.keys.sorted().randomElement(using: &g)!
            fields[key] = mutate(fields[key]!, &g)
            return .object(fields)
        case .array(var items) where !items.isEmpty && Int.random(in: 0..<4, using: &g) > 0:
            let index = Int.random(in: 0..<items.count, using: &g)
            items[index] = mutate(items[index], &g)
            return .array(items)
        default:
            let replacements = ["null", "1", "1.5", "-1", "1e2", "300", "1e400", "\"x\"", "\"openai\"", "true", "[]", "{}", "[\"a\"]"]
            let text = Int.random(in: 0..<3, using: &g) == 0 ? JSONParserTests.value(&g, depth: 2) : replacements.randomElement(using: &g)!
            return (try? JSONParser.parse(Array(text.utf8))) ?? .null
        }
    }

    @Test func modelsAreReadAsJSONDecoderReadsThem() throws {
        var g = Seeded(state: 29)
        var same = 0, read = 0
        for (document, count) in [(Self.assistant, 3000), (Self.tool, 3000)] {
            let tree = try JSONParser.parse(Array(document.utf8))
            for _ in 0..<count {
                // One change or two: enough documents stay valid to compare what is read, not only what is refused.
                let changed = Self.mutate(tree, &g)
                let bytes = try (Bool.random(using: &g) ? changed : Self.mutate(changed, &g)).serialized()
                let text = String(decoding: bytes, as: UTF8.self)
                if document == Self.assistant {
                    let (a, b) = (Self.read(AssistantConfig.self, bytes, ours: true), Self.read(AssistantConfig.self, bytes, ours: false))
                    #expect(Self.agree(a, b), "\(text)")
                    if case .read = a { read += 1 }
                    if Self.agree(a, b) { same += 1 }
                } else {
                    let (a, b) = (Self.read(ToolConfig.self, bytes, ours: true), Self.read(ToolConfig.self, bytes, ours: false))
                    #expect(Self.agree(a, b), "\(text)")
                    if case .read = a { read += 1 }
                    if Self.agree(a, b) { same += 1 }
                }
            }
        }
        #expect(same == 6000)
        #expect(read > 500 && read < 5000, "\(read) read")
        var samples = Seeded(state: 31)
        for _ in 0..<300 {
            let bytes = Array(try Self.foundation(Sample(&samples)).utf8)
            #expect(Self.agree(Self.read(Sample.self, bytes, ours: true), Self.read(Sample.self, bytes, ours: false)))
        }
    }

    /// The same model, or the same message; a number out of its type's range is named by our decoder
    /// ("Invalid value for field: x"), where JSONDecoder's message named no field ("Malformed JSON body").
    static func agree<T: Equatable>(_ ours: Outcome<T>, _ theirs: Outcome<T>) -> Bool {
        switch (ours, theirs) {
        case (.read(let a), .read(let b)): return a == b
        case (.refused(let a), .refused(let b)): return a == b || (b == "Malformed JSON body" && a.hasPrefix("Invalid value for field: "))
        default: return false
        }
    }
}
