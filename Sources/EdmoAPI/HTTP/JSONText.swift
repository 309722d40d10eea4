import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
/// Writes small JSON objects by hand, for the responses on every request's path (the current user);
/// JSONEncoder costs more than the rest of such a request. Output matches JSONEncoder's `.sortedKeys`
/// form: the caller passes keys in sorted order.
struct JSONText {
    enum Value {
        case string(String?)
        case bool(Bool)
        /// Already-encoded JSON.
        case raw(String)
    }

    static func object(_ fields: KeyValuePairs<String, Value>) -> String {
        var out = "{"
        var first = true
        for (key, value) in fields {
            if !first { out += "," }
            first = false
            appendString(key, to: &out)
            out += ":"
            switch value {
            case .string(nil): out += "null"
            case .string(let s?): appendString(s, to: &out)
            case .bool(let b): out += b ? "true" : "false"
            case .raw(let json): out += json
            }
        }
        return out + "}"
    }

    static func appendString(_ s: String, to out: inout String) {
        out += "\""
        var plain = true
        for byte in s.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            out += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
