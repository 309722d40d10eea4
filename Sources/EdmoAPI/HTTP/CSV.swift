import Foundation

/// RFC 4180 text for spreadsheets: comma-separated, CRLF line ends, a field quoted when it holds a comma,
/// quote, CR or LF (quotes doubled inside).
enum CSV {
    /// One record, its line end included.
    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

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
