import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
/// The router's one pass over a request body before any handler: well-formed JSON (RFC 8259), at most
/// `maxDepth` levels deep, and no object with the same key twice (Foundation's parsers keep one of them
/// silently, so `{"role":"VIEWER","role":"ADMIN"}` would mean whatever the parser picked), and no NUL
/// character in a string: PostgreSQL's text cannot hold one and SQLite's C strings end at it, so
/// `"a\u0000b"` would be refused by one store and cut short by the other.
enum JSONCheck {
    enum Failure: Error, Equatable {
        case malformed
        case tooDeep
        case duplicateKey(String)
        case nulCharacter
    }

    static let maxDepth = 64

    static func validate(_ bytes: [UInt8]) throws {
        var scanner = Scanner(bytes: bytes)
        scanner.skipSpace()
        try scanner.value(depth: 0)
        scanner.skipSpace()
        guard scanner.index == bytes.count else { throw Failure.malformed }
    }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws {
            guard index < bytes.count, bytes[index] == byte else { throw Failure.malformed }
            index += 1
        }

        mutating func value(depth: Int) throws {
            guard depth <= JSONCheck.maxDepth else { throw Failure.tooDeep }
            guard index < bytes.count else { throw Failure.malformed }
            switch bytes[index] {
            case UInt8(ascii: "{"): try object(depth: depth + 1)
            case UInt8(ascii: "["): try array(depth: depth + 1)
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: try number()
            }
        }

        mutating func object(depth: Int) throws {
            try expect(UInt8(ascii: "{"))
            var keys = Set<[UInt8]>()
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return }
            while true {
                skipSpace()
                let key = try string()
                guard keys.insert(key).inserted else { throw Failure.duplicateKey(String(decoding: key, as: UTF8.self)) }
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                try value(depth: depth)
                skipSpace()
                guard index < bytes.count else { throw Failure.malformed }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "}"))
                return
            }
        }

        mutating func array(depth: Int) throws {
            try expect(UInt8(ascii: "["))
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return }
            while true {
                skipSpace()
                try value(depth: depth)
                skipSpace()
                guard index < bytes.count else { throw Failure.malformed }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        }

        /// Returns the string's bytes with escapes resolved (enough to compare keys).
        mutating func string() throws -> [UInt8] {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard String(validating: out, as: UTF8.self) != nil else { throw Failure.malformed }
                    return out
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw Failure.malformed }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "u"):
                        let unit = try hex4()
                        if unit == 0 { throw Failure.nulCharacter }
                        out.append(contentsOf: Array("\\u".utf8) + bytes[(index - 4)..<index])
                        // A surrogate must come as a high-low pair; a lone one is not text.
                        if (0xDC00...0xDFFF).contains(unit) { throw Failure.malformed }
                        if (0xD800...0xDBFF).contains(unit) {
                            try expect(UInt8(ascii: "\\"))
                            try expect(UInt8(ascii: "u"))
                            guard (0xDC00...0xDFFF).contains(try hex4()) else { throw Failure.malformed }
                            out.append(contentsOf: bytes[(index - 6)..<index])
                        }
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        out.append(contentsOf: [UInt8(ascii: "\\"), escaped])
                    default: throw Failure.malformed
                    }
                case 0..<0x20: throw Failure.malformed
                default: out.append(byte)
                }
            }
            throw Failure.malformed
        }

        mutating func hex4() throws -> Int {
            guard index + 4 <= bytes.count, let value = Int(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                  bytes[index..<index + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
            else { throw Failure.malformed }
            index += 4
            return value
        }

        mutating func literal(_ word: String) throws {
            for byte in word.utf8 { try expect(byte) }
        }

        mutating func number() throws {
            let start = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            func digits() -> Int {
                let from = index
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
                return index - from
            }
            let whole = index
            guard digits() > 0 else { throw Failure.malformed }
            if bytes[whole] == 48 && index - whole > 1 { throw Failure.malformed }  // no leading zeros
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw Failure.malformed }
            }
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw Failure.malformed }
            }
            guard index > start else { throw Failure.malformed }
        }
    }
}
