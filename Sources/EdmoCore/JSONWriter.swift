import Foundation

/// Writes a `JSONValue` as text, byte for byte as `JSONEncoder` with `.sortedKeys` and
/// `.withoutEscapingSlashes` does (`JSONWriterTests` compares the two): keys in `String` order, no white
/// space, a whole `Double` without its `.0`, and `"`, `\` and the control characters escaped.
/// Why not the encoder: it was a sixth of an assistant write's CPU (bench/README "Issue 14, session 7").
extension JSONValue {
    public func serialized() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        try write(to: &out)
        return out
    }

    func write(to out: inout [UInt8]) throws {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): try Self.write(d, to: &out)
        case .string(let s): JSONText.appendString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            for (index, field) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendString(field.key, to: &out)
                out.append(UInt8(ascii: ":"))
                try field.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func write(_ d: Double, to out: inout [UInt8]) throws {
        guard d.isFinite else {
            throw EncodingError.invalidValue(d, EncodingError.Context(codingPath: [], debugDescription: "\(d) is not valid JSON"))
        }
        var text = d.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out.append(contentsOf: text.utf8)
    }
}
