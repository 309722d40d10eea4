import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// The dates of the reporting operations (time series, conversation list, exports): `from`/`to`
/// (`YYYY-MM-DD`, both included) or the last `timeRangeDays` days up to today in `tz`. The lists and exports
/// count a conversation on the UTC day it started, whatever `tz` (it only decides which date is "today");
/// the time series places its days in `tz` (`ZonedSteps`).
struct AnalyticsWindow {
    static let maxDays = 3660

    let from: Int, to: Int
    let tz: String

    var fromDay: String { CivilDay.format(from) }
    var toDay: String { CivilDay.format(to) }

    init(_ request: Request, now: Date) throws {
        tz = request.query["tz"] ?? "UTC"
        // The zone database is read from files named by the identifier: only a name's characters, no "..".
        let named = tz.utf8.allSatisfy { isalnum(Int32($0)) != 0 || "/_-+".utf8.contains($0) } && !tz.contains("..")
        guard (1...64).contains(tz.utf8.count), named, let zone = TimeZone(identifier: tz) else {
            throw APIError.badRequest("Invalid value for parameter: tz (an IANA time zone, such as Europe/Paris)")
        }
        let local = now.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: now))
        let today = Int((local / 86_400).rounded(.down))
        let days = try request.query["timeRangeDays"].map { raw in
            guard let n = Int(raw), (1...Self.maxDays).contains(n) else {
                throw APIError.badRequest("Invalid value for parameter: timeRangeDays (1 to \(Self.maxDays))")
            }
            return n
        }
        let dates = try ["from", "to"].map { name in
            try request.query[name].map { raw in
                guard let day = CivilDay.parse(raw) else { throw APIError.badRequest("Invalid value for parameter: \(name) (YYYY-MM-DD)") }
                return day
            }
        }
        if days != nil, dates[0] != nil { throw APIError.badRequest("Invalid parameters: from and timeRangeDays cannot be combined") }
        to = dates[1] ?? today
        from = dates[0] ?? to - ((days ?? 7) - 1)
        guard from <= to else { throw APIError.badRequest("Invalid parameters: from is after to") }
        guard to - from < Self.maxDays else { throw APIError.badRequest("Invalid parameters: at most \(Self.maxDays) days from from to to") }
    }

    /// The key's scope, the window and the filters of `GET /api/analytics`, checked; `q` (a text in the
    /// summaries) where `search` is allowed.
    static func filter(_ request: Request, _ context: AppContext, search: Bool) throws -> (filter: AnalyticsFilter, window: AnalyticsWindow) {
        let scope = try AnalyticsAuth.scope(request, context)
        let window = try AnalyticsWindow(request, now: context.now)
        let channel: ConversationChannel? = try AnalyticsRoutes.filter(request, "channel")
        let sentiment: Sentiment? = try AnalyticsRoutes.filter(request, "sentiment")
        let resolution: Resolution? = try AnalyticsRoutes.filter(request, "resolution")
        let assistantId = try AnalyticsRoutes.idFilter(request, "assistantId", .assistants, scope: scope, context)
        let phoneNumberId = try AnalyticsRoutes.idFilter(request, "phoneNumberId", .phoneNumbers, scope: scope, context)
        var q: String?
        if search, let raw = request.query["q"], !raw.isEmpty {
            guard raw.utf8.count <= 200 else { throw APIError.badRequest("Invalid value for parameter: q (at most 200 bytes)") }
            q = raw
        }
        let filter = AnalyticsFilter(
            orgId: scope, fromDay: window.fromDay, channel: channel, sentiment: sentiment, resolution: resolution,
            assistantId: assistantId, phoneNumberId: phoneNumberId, toDay: window.toDay, search: q)
        return (filter, window)
    }
}

/// `YYYY-MM-DD` dates as days since 1970-01-01 (proleptic Gregorian), for date arithmetic without a
/// Calendar (H. Hinnant's civil-days algorithms).
enum CivilDay {
    static func days(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        return era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, doy - (153 * mp + 2) / 5 + 1)
    }

    static func format(_ days: Int) -> String {
        let (y, m, d) = civil(days)
        func pad(_ n: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(n).count)) + String(n) }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    /// nil unless `text` is a real date from year 1 to 9999, written `YYYY-MM-DD`.
    static func parse(_ text: String) -> Int? {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for i in range { guard (48...57).contains(b[i]) else { return nil }; n = n * 10 + Int(b[i] - 48) }
            return n
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10), y >= 1, (1...12).contains(m), (1...31).contains(d) else { return nil }
        let n = days(y, m, d)
        return format(n) == text ? n : nil
    }

    /// The Monday of the (ISO) week of `days` (1970-01-01 was a Thursday).
    static func weekStart(_ days: Int) -> Int { days - ((days + 3) % 7 + 7) % 7 }

    static func monthStart(_ days: Int) -> Int { let (y, m, _) = civil(days); return Self.days(y, m, 1) }

    static func nextMonth(_ days: Int) -> Int { let (y, m, _) = civil(days); return m == 12 ? Self.days(y + 1, 1, 1) : Self.days(y, m + 1, 1) }
}
