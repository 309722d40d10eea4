/// Writes small JSON objects by hand, for what every request of a kind builds (the current user, an outbound
/// event's envelope around a stored body); JSONEncoder costs more than the rest of such a request. Output
/// matches JSONEncoder's `.sortedKeys` form: the caller passes keys in sorted order.
public struct JSONText {
    public enum Value {
        case string(String?)
        case bool(Bool)
        /// Already-encoded JSON.
        case raw(String)
    }

    /// Built on bytes, then made a String once: appending to a String checks and grows it piece by piece,
    /// which was most of this function's cost on `GET /api/auth/me`.
    public static func object(_ fields: KeyValuePairs<String, Value>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in fields {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            switch value {
            case .string(nil): out.append(contentsOf: "null".utf8)
            case .string(let s?): appendString(s, to: &out)
            case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
            case .raw(let json): out.append(contentsOf: json.utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal: `"`, `\\`, and the control characters escaped as JSONEncoder does.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // The usual case, nothing to escape: one scan of the bytes in place, then copied whole.
        let plain = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if plain == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
