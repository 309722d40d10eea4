import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// How analytics numbers and times are written (README "Analytics formulas").
enum AnalyticsFormat {
    /// Whole percent, halves rounded up; 0 when there is nothing to divide by.
    static func percent(_ part: Int, of whole: Int) -> Int { whole == 0 ? 0 : (200 * part + whole) / (2 * whole) }

    /// Whole number, halves rounded up; 0 when there is nothing to divide by.
    static func average(_ sum: Int, over count: Int) -> Int { count == 0 ? 0 : (2 * sum + count) / (2 * count) }

    /// `45s`, `3m 20s`, `1h 2m 3s`.
    static func duration(_ seconds: Int) -> String {
        let h = seconds / 3600, m = (seconds % 3600) / 60, s = seconds % 60
        if h > 0 { return "\(h)h \(m)m \(s)s" }
        if m > 0 { return "\(m)m \(s)s" }
        return "\(s)s"
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Jan 1, 2024, 10:00 AM UTC` from a stored timestamp.
    static func timestamp(_ text: String) -> String? {
        guard let date = Timestamp.parse(text) else { return nil }
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var t = tm()
        gmtime_r(&seconds, &t)
        let hour12 = t.tm_hour % 12 == 0 ? 12 : Int(t.tm_hour % 12)
        let minute = t.tm_min < 10 ? "0\(t.tm_min)" : "\(t.tm_min)"
        return "\(months[Int(t.tm_mon)]) \(t.tm_mday), \(Int(t.tm_year) + 1900), \(hour12):\(minute) \(t.tm_hour < 12 ? "AM" : "PM") UTC"
    }

    /// The UTC day `days - 1` days before `now`: a window of `days` calendar days ending today.
    static func firstDay(of days: Int, now: Date) -> String {
        String(Timestamp.format(now.addingTimeInterval(-Double(days - 1) * 86_400)).prefix(10))
    }
}
