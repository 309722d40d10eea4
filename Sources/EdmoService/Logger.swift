import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Log lines go to stderr (journald under systemd). Never pass a cookie, password or key here.
/// `info`, `error` and `access` escape control characters (see `escape`), so text from a request or an
/// upstream answer can never start a forged line or drive the terminal of whoever reads the log.
public struct Logger: Sendable {
    public var write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    public static let stderr = Logger { line in
        var text = line
        text.append("\n")
        FileHandle.standardError.write(Data(text.utf8))
    }

    public static let silent = Logger { _ in }

    public func info(_ message: String) { write("info: \(Self.escape(message))") }
    public func error(_ message: String) { write("error: \(Self.escape(message))") }


    /// One log line's worth of text: a backslash becomes `\\`, newline, carriage return and tab `\n`, `\r`,
    /// `\t`, other C0 controls and DEL `\xNN`, C1 controls and the Unicode line/paragraph separators `\u{NN}`.
    /// Everything else (UTF-8 included) stays as it is.
    public static func escape(_ text: String) -> String {
        // Fast path (every request's path passes here): nothing to escape.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\\") || $0 == 0xc2 || $0 == 0xe2 }) else {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5c: out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7f: out += "\\x" + hex(scalar.value, width: 2)
            case 0x80..<0xa0, 0x2028, 0x2029: out += "\\u{" + hex(scalar.value, width: 2) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
