import Foundation

/// RFC 4180 text for spreadsheets: comma-separated, CRLF line ends, a field quoted when it holds a comma,
/// quote, CR or LF (quotes doubled inside).
enum CSV {
    /// One record, its line end included.
    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    /// `line(fields)` appended to `out` as UTF-8 without building the strings in between: what an export
    /// of a million rows calls.
    static func append(_ fields: [String], to out: inout [UInt8]) {
        for (i, value) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let utf8 = value.utf8
            // The `'` of a formula holds no comma, quote or line break: whether to quote depends on the value alone.
            let quoted = utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A }
            if quoted { out.append(UInt8(ascii: "\"")) }
            if let first = utf8.first, formulaStarts.contains(first) { out.append(UInt8(ascii: "'")) }
            if quoted {
                for byte in utf8 {
                    out.append(byte)
                    if byte == UInt8(ascii: "\"") { out.append(byte) }
                }
                out.append(UInt8(ascii: "\""))
            } else {
                out.append(contentsOf: utf8)
            }
        }
        out.append(0x0D); out.append(0x0A)
    }

    static let formulaStarts: [UInt8] = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D]

    /// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a leading tab or CR that some
    /// programs skip before one) is prefixed with `'`, so it is shown as text and never evaluated (OWASP's
    /// "CSV injection" advice).
    static func field(_ value: String) -> String {
        var text = value
        if let first = text.utf8.first, [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D].contains(first) {
            text = "'" + text
        }
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A }) else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
