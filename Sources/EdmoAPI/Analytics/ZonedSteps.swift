import Foundation

/// Where local days begin in a time zone, as UTC seconds, and the steps of a time series as UTC intervals.
/// The aggregates are per UTC hour, so a step can only begin on a UTC hour: it begins at the start of the
/// UTC hour holding the local midnight, which is the midnight itself in every zone whose offset is whole
/// hours (DST changes included: such a day is 23 or 25 hours), and up to 59 minutes before it otherwise
/// (30 in Asia/Kolkata, 15 in Asia/Kathmandu): `shiftMinutes`.
struct ZonedSteps {
    /// One step: the local dates it covers (days since 1970-01-01) and its UTC hours, `from` included, `to` not.
    struct Step: Equatable {
        var startDay, endDay: Int
        var from, to: Int
    }

    let zone: TimeZone
    let steps: [Step]
    /// The most minutes a step begins before its local midnight (0: every step begins at a local midnight).
    let shiftMinutes: Int

    static let hour = 3_600, day = 86_400

    /// The steps of `step` from local date `from` to `to` (both included), each day's `TimeSeriesRoutes.steps`
    /// placed in `zone`; with `.hour`, every UTC hour between the two ends.
    init(_ step: TimeSeriesRoutes.Step, from: Int, to: Int, zone: TimeZone) {
        self.zone = zone
        var shift = 0
        var starts: [Int: Int] = [:]
        func start(_ day: Int) -> Int {
            if let known = starts[day] { return known }
            let exact = Self.start(of: day, in: zone)
            let floored = Self.floorHour(exact)
            shift = max(shift, (exact - floored + 59) / 60)
            starts[day] = floored
            return floored
        }
        if step == .hour {
            let (first, end) = (start(from), start(to + 1))
            steps = stride(from: first, to: end, by: Self.hour).map { t in
                let day = Self.localDay(t, in: zone)
                return Step(startDay: day, endDay: day, from: t, to: t + Self.hour)
            }
        } else {
            steps = TimeSeriesRoutes.steps(step, from: from, to: to).map { s in
                Step(startDay: s.start, endDay: s.end, from: start(s.start), to: start(s.end + 1))
            }
        }
        shiftMinutes = shift
    }

    /// Whether every step begins and ends on a UTC midnight, so the daily aggregates can be read instead.
    var onUTCDays: Bool { steps.allSatisfy { $0.from % Self.day == 0 && $0.to % Self.day == 0 } }

    /// How the UTC days under the steps are read when they are not whole steps' days: each day's daily row goes
    /// to the step (or the outside of the window, nil) that holds most of its hours, and each of its other
    /// hours is read from the hourly rows and moved from there to its own step. So a day in New York reads
    /// its daily row and 4 or 5 hourly rows, not 24. `days`: UTC day -> the step of its daily row;
    /// `moved`: UTC second of an hour -> (the step it is taken from, the step it goes to).
    func plan() -> (days: [Int: Int?], moved: [Int: (from: Int?, to: Int?)]) {
        var days: [Int: Int?] = [:], moved: [Int: (from: Int?, to: Int?)] = [:]
        let first = Self.floorDay(steps.first!.from), last = Self.floorDay(steps.last!.to - 1)
        for day in first...last {
            let hours = (0..<24).map { index(of: day * Self.day + $0 * Self.hour) }
            var tally: [Int?: Int] = [:]
            for step in hours { tally[step, default: 0] += 1 }
            // The most hours; ties to the earlier step, for a deterministic plan.
            let major = tally.max { a, b in a.value != b.value ? a.value < b.value : (a.key ?? .max) > (b.key ?? .max) }!.key
            days[day] = major
            for (h, step) in hours.enumerated() where step != major { moved[day * Self.day + h * Self.hour] = (major, step) }
        }
        return (days, moved)
    }

    static func floorDay(_ t: Int) -> Int { t >= 0 ? t / day : -((-t + day - 1) / day) }

    /// The index of the step holding UTC second `t`, if any.
    func index(of t: Int) -> Int? {
        let i = steps.partitionPoint { $0.to <= t }
        return i < steps.count && steps[i].from <= t ? i : nil
    }

    static func floorHour(_ t: Int) -> Int { t - ((t % hour) + hour) % hour }

    static func offset(_ t: Int, in zone: TimeZone) -> Int { zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t))) }

    static func localDay(_ t: Int, in zone: TimeZone) -> Int {
        let local = t + offset(t, in: zone)
        return local >= 0 ? local / day : -((-local + day - 1) / day)
    }

    /// The first instant of local date `day` in UTC seconds: the UTC instant whose local time is its midnight
    /// (the earlier one if there are two), or, where a change of offset skips midnight, the change itself.
    static func start(of day: Int, in zone: TimeZone) -> Int {
        let midnight = day * Self.day
        // The offsets a day before and after hold every candidate, unless two changes fall within two days.
        let before = offset(midnight - Self.day, in: zone), after = offset(midnight + Self.day, in: zone)
        let candidates = [before, after, offset(midnight - before, in: zone), offset(midnight - after, in: zone)]
            .map { midnight - $0 }.filter { $0 + offset($0, in: zone) == midnight }
        if let first = candidates.min() { return first }
        // Skipped: the change lies between the instants that would show midnight with either offset.
        var (low, high) = (midnight - max(before, after), midnight - min(before, after))
        let later = offset(high, in: zone)
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if offset(mid, in: zone) == later { high = mid } else { low = mid }
        }
        return high
    }

    /// `t` as ISO 8601 with the zone's offset at that instant: `2026-03-08T03:00:00-04:00` (`Z` when 0).
    func timestamp(_ t: Int) -> String {
        let offset = Self.offset(t, in: zone)
        let local = t + offset
        let days = local >= 0 ? local / Self.day : -((-local + Self.day - 1) / Self.day)
        let seconds = local - days * Self.day
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let time = "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
        guard offset != 0 else { return "\(CivilDay.format(days))T\(time)Z" }
        let minutes = abs(offset) / 60
        return "\(CivilDay.format(days))T\(time)\(offset < 0 ? "-" : "+")\(two(minutes / 60)):\(two(minutes % 60))"
    }

    /// A UTC second as the hourly aggregates' `YYYY-MM-DDTHH`, and back.
    static func hourKey(_ t: Int) -> String {
        let days = t >= 0 ? t / day : -((-t + day - 1) / day)
        let h = (t - days * day) / hour
        return CivilDay.format(days) + (h < 10 ? "T0\(h)" : "T\(h)")
    }

    static func instant(ofHourKey key: String) -> Int? {
        guard key.utf8.count == 13, let days = CivilDay.parse(String(key.prefix(10))), let h = Int(key.suffix(2)), (0..<24).contains(h) else {
            return nil
        }
        return days * day + h * hour
    }
}
