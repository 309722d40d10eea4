import Foundation

/// ISO 8601 UTC with milliseconds (`2024-01-01T10:00:00.000Z`), the seed's date format. Stored as TEXT too,
/// so that string order is time order.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
        let ms = Int(millis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        guard (-1900...8099).contains(Int(parts.tm_year)) else {
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), ms)
        }
        // By hand: `String(format:)` was a twentieth of a write's CPU (several stamps each).
        var out = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int, at index: Int, digits: Int) {
            var value = value
            for i in stride(from: index + digits - 1, through: index, by: -1) {
                out[i] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, at: 0, digits: 4)
        put(Int(parts.tm_mon) + 1, at: 5, digits: 2)
        put(Int(parts.tm_mday), at: 8, digits: 2)
        put(Int(parts.tm_hour), at: 11, digits: 2)
        put(Int(parts.tm_min), at: 14, digits: 2)
        put(Int(parts.tm_sec), at: 17, digits: 2)
        put(ms, at: 20, digits: 3)
        for (index, byte) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")] as [(Int, Unicode.Scalar)] {
            out[index] = UInt8(ascii: byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func parse(_ text: String) -> Date? {
        if let date = parseCanonical(text) { return date }
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        if let date = try? withFraction.parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    /// The format this program writes (`2024-01-01T10:00:00.250Z`), parsed by hand: it is read on every
    /// authenticated request, and the general parser costs more than the rest of the request.
    static func parseCanonical(_ text: String) -> Date? {
        text.utf8.withContiguousStorageIfAvailable { b -> Date? in
            guard b.count == 24, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b[19] == 46, b[23] == 90 else {
                return nil
            }
            func number(_ from: Int, _ count: Int) -> Int? {
                var value = 0
                for i in from..<(from + count) {
                    let d = Int(b[i]) - 48
                    guard (0...9).contains(d) else { return nil }
                    value = value * 10 + d
                }
                return value
            }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
                  let minute = number(14, 2), let second = number(17, 2), let millis = number(20, 3) else { return nil }
            var parts = tm()
            parts.tm_year = Int32(year - 1900)
            parts.tm_mon = Int32(month - 1)
            parts.tm_mday = Int32(day)
            parts.tm_hour = Int32(hour)
            parts.tm_min = Int32(minute)
            parts.tm_sec = Int32(second)
            let seconds = timegm(&parts)
            return Date(timeIntervalSince1970: TimeInterval(seconds) + TimeInterval(millis) / 1000)
        } ?? nil
    }
}
