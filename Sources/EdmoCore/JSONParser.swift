import Foundation

/// Reads JSON text into a `JSONValue` in one pass over the bytes.
///
/// Why not `JSONDecoder().decode(JSONValue.self, ...)`: `JSONValue.init(from:)` can only find out what a value
/// is by trying each type in turn, and every wrong guess throws a `DecodingError` (an object costs five).
/// That made a JSON tree the largest single cost of a webhook report and of an assistant's PATCH (bench/README
/// "Issue 14: session 6"). This parser accepts and reads exactly what that decoder did, which
/// `JSONParserTests` checks against it on thousands of generated documents: RFC 8259 values, a leading
/// byte-order mark, a trailing comma in an array or object, the first of duplicate keys, nesting to 512 levels;
/// an integer that fits is `.int`, and any other number is what JSONDecoder makes of it.
struct JSONParser {
    struct Malformed: Error {}

    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var at = 0

    static func parse(_ input: [UInt8]) throws -> JSONValue {
        try input.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { parser.at = 3 }
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.at == buffer.count else { throw Malformed() }
            return value
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        skipSpace()
        guard at < bytes.count else { throw Malformed() }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard bytes.count - at >= count else { throw Malformed() }
        for i in 0..<count where bytes[at + i] != word.utf8Start[i] { throw Malformed() }
        at += count
    }

    /// Whether the next byte (after white space) is `byte`, which is then passed.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        guard depth <= Self.maxDepth else { throw Malformed() }
        at += 1
        var fields: [String: JSONValue] = [:]
        if take(UInt8(ascii: "}")) { return .object(fields) }
        while true {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw Malformed() }
            let key = try string()
            guard take(UInt8(ascii: ":")) else { throw Malformed() }
            let field = try value(depth: depth)
            if fields[key] == nil { fields[key] = field }
            if take(UInt8(ascii: ",")) {
                if take(UInt8(ascii: "}")) { return .object(fields) }
            } else if take(UInt8(ascii: "}")) {
                return .object(fields)
            } else {
                throw Malformed()
            }
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        guard depth <= Self.maxDepth else { throw Malformed() }
        at += 1
        var items: [JSONValue] = []
        if take(UInt8(ascii: "]")) { return .array(items) }
        while true {
            items.append(try value(depth: depth))
            if take(UInt8(ascii: ",")) {
                if take(UInt8(ascii: "]")) { return .array(items) }
            } else if take(UInt8(ascii: "]")) {
                return .array(items)
            } else {
                throw Malformed()
            }
        }
    }

    /// From the opening quote; valid UTF-8 only, no control characters, surrogates only in pairs.
    private mutating func string() throws -> String {
        at += 1
        let start = at
        while at < bytes.count, bytes[at] != UInt8(ascii: "\""), bytes[at] != UInt8(ascii: "\\") {
            guard bytes[at] >= 0x20 else { throw Malformed() }
            at += 1
        }
        guard at < bytes.count else { throw Malformed() }
        var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<at]))
        while bytes[at] == UInt8(ascii: "\\") {
            at += 1
            guard at < bytes.count else { throw Malformed() }
            let escape = bytes[at]
            at += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"): appendScalar(try unicodeEscape(), to: &out)
            default: throw Malformed()
            }
            while at < bytes.count, bytes[at] != UInt8(ascii: "\""), bytes[at] != UInt8(ascii: "\\") {
                guard bytes[at] >= 0x20 else { throw Malformed() }
                out.append(bytes[at])
                at += 1
            }
            guard at < bytes.count else { throw Malformed() }
        }
        at += 1  // the closing quote
        guard let text = String(validating: out, as: UTF8.self) else { throw Malformed() }
        return text
    }

    /// After `\u`: four hex digits, and a second `\uXXXX` for a high surrogate.
    private mutating func unicodeEscape() throws -> Unicode.Scalar {
        let first = try hex4()
        switch first {
        case 0xD800..<0xDC00:
            guard bytes.count - at >= 2, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else { throw Malformed() }
            at += 2
            let second = try hex4()
            guard (0xDC00..<0xE000).contains(second) else { throw Malformed() }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
        case 0xDC00..<0xE000:
            throw Malformed()
        default:
            return Unicode.Scalar(first)!
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - at >= 4 else { throw Malformed() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[at]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Malformed()
            }
            value = value << 4 | UInt32(digit)
            at += 1
        }
        return value
    }

    private func appendScalar(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        out.append(contentsOf: UTF8.encode(scalar)!)
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
    private mutating func number() throws -> JSONValue {
        let start = at
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
        guard at < bytes.count, isDigit(bytes[at]) else { throw Malformed() }
        if bytes[at] == UInt8(ascii: "0") {
            at += 1
        } else {
            while at < bytes.count, isDigit(bytes[at]) { at += 1 }
        }
        var whole = true
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            whole = false
            at += 1
            guard at < bytes.count, isDigit(bytes[at]) else { throw Malformed() }
            while at < bytes.count, isDigit(bytes[at]) { at += 1 }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            whole = false
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard at < bytes.count, isDigit(bytes[at]) else { throw Malformed() }
            while at < bytes.count, isDigit(bytes[at]) { at += 1 }
        }
        let literal = UnsafeBufferPointer(rebasing: bytes[start..<at])
        let text = String(decoding: literal, as: UTF8.self)
        if whole, let int = Int(text) { return .int(int) }
        // A fraction or an exponent: JSONDecoder makes an `.int` of what reads as a whole number, a `.double`
        // of the rest. Below 2^53 that is the correctly rounded Double's rule too; past it (the integer part
        // read exactly) JSONDecoder is asked, for this number alone.
        guard let double = Double(text), double.isFinite else { throw Malformed() }
        if double.magnitude < 9_007_199_254_740_992 { return Int(exactly: double).map(JSONValue.int) ?? .double(double) }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(literal)) else { throw Malformed() }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
