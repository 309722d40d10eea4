import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// GET /api/analytics/timeseries: the counts of `GET /api/analytics` per hour, day, week or month, read from
/// the daily aggregates, or the hourly ones for the days of a zone (`tz`) or hours (so its cost grows with
/// days and groups, not conversations), with every step present.
enum TimeSeriesRoutes {
    struct Meta: Encodable {
        let from, to, step, tz: String
        /// "UTC" without `tz`; with it, "local" when every step begins at a local midnight, else
        /// "utcHourOfLocalMidnight" (a zone whose offset is not whole hours: see `ZonedSteps`).
        let dayBoundaries: String
        @Nullable var groupBy: String?
        let channel, sentiment, resolution: String
        @Nullable var assistantId: String?
        @Nullable var phoneNumberId: String?
        /// With `tz`: the most minutes a step begins before its local midnight.
        var boundaryShiftMinutes: Int?
    }

    struct Point: Encodable {
        let start, end: String
        /// With `tz` or `step=hour`: the step's first instant and the instant after it, with the zone's offset.
        var startsAt: String?, endsAt: String?
        var conversations = 0, successful = 0, failed = 0, escalated = 0, totalDurationSeconds = 0, avgDurationSeconds = 0
    }

    struct Series: Encodable {
        @Nullable var key: String?
        var points: [Point]
    }

    struct Answer: Encodable {
        let meta: Meta
        let series: [Series]
    }

    enum Step: String, CaseIterable { case day, week, month, hour }

    /// A chart of hours: at most 31 days (about 744 points).
    static let maxHourDays = 31

    /// The steps from the one holding `from` to the one holding `to`, each cut to `from...to`.
    static func steps(_ step: Step, from: Int, to: Int) -> [(start: Int, end: Int)] {
        var out: [(Int, Int)] = []
        var start = from
        while start <= to {
            let next = switch step {
            case .day, .hour: start + 1
            case .week: CivilDay.weekStart(start) + 7
            case .month: CivilDay.nextMonth(start)
            }
            out.append((start, min(next - 1, to)))
            start = next
        }
        return out
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        let (filter, window) = try AnalyticsWindow.filter(request, context, search: false)
        let step = Step(rawValue: try AnalyticsRoutes.choice(request, "step", Step.allCases.map(\.rawValue)))!
        var groupBy: AnalyticsDimension?
        if let raw = request.query["groupBy"], !raw.isEmpty {
            guard let dimension = AnalyticsDimension(rawValue: raw) else {
                throw APIError.badRequest("Invalid value for parameter: groupBy (\(AnalyticsDimension.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            groupBy = dimension
        }
        if step == .hour, window.to - window.from >= maxHourDays {
            throw APIError.badRequest("Invalid parameters: step=hour allows at most \(maxHourDays) days from from to to")
        }
        let zoned = request.query["tz"] != nil
        let (steps, series) = try series(
            context.analytics, filter, from: window.from, to: window.to, step: step, groupBy: groupBy,
            zone: zoned ? TimeZone(identifier: window.tz)! : nil)
        let meta = Meta(
            from: window.fromDay, to: window.toDay, step: step.rawValue, tz: window.tz,
            dayBoundaries: !zoned ? "UTC" : steps.shiftMinutes == 0 ? "local" : "utcHourOfLocalMidnight",
            groupBy: groupBy?.rawValue,
            channel: filter.channel?.rawValue ?? "all", sentiment: filter.sentiment?.rawValue ?? "all",
            resolution: filter.resolution?.rawValue ?? "all",
            assistantId: request.query["assistantId"].flatMap { $0.isEmpty ? nil : $0 },
            phoneNumberId: request.query["phoneNumberId"].flatMap { $0.isEmpty ? nil : $0 },
            boundaryShiftMinutes: zoned ? steps.shiftMinutes : nil)
        return try Response.json(Answer(meta: meta, series: series))
    }
}

extension TimeSeriesRoutes {
    /// The series of the local dates `from...to` by `step`, in `zone` (nil: UTC days, and points without
    /// `startsAt`/`endsAt` unless by hour), every step present.
    static func series(
        _ analytics: any AnalyticsStore, _ filter: AnalyticsFilter, from: Int, to: Int, step: Step,
        groupBy: AnalyticsDimension?, zone: TimeZone?
    ) throws -> (ZonedSteps, [Series]) {
        let steps = ZonedSteps(step, from: from, to: to, zone: zone ?? TimeZone(identifier: "UTC")!)
        let timed = zone != nil || step == .hour
        let empty = steps.steps.map { s in
            Point(start: CivilDay.format(s.startDay), end: CivilDay.format(s.endDay),
                  startsAt: timed ? steps.timestamp(s.from) : nil, endsAt: timed ? steps.timestamp(s.to) : nil)
        }
        var keys: [String?] = groupBy == nil ? [nil] : groupBy!.closedValues ?? []
        var points: [String?: [Point]] = Dictionary(uniqueKeysWithValues: keys.map { ($0, empty) })
        func add(_ row: AnalyticsDailyCounts, to index: Int?, _ sign: Int = 1) {
            guard let index else { return }
            if points[row.key] == nil { keys.append(row.key); points[row.key] = empty }
            points[row.key]![index].add(row, sign)
        }
        let hourKey = ZonedSteps.hourKey
        if step == .hour {
            let hours = HourRange(from: hourKey(steps.steps.first!.from), to: hourKey(steps.steps.last!.to - ZonedSteps.hour))
            for row in try analytics.hourlyCounts(filter, hours: hours, groupBy: groupBy, recount: false) {
                add(row, to: ZonedSteps.instant(ofHourKey: row.day).flatMap(steps.index(of:)))
            }
        } else {
            // Whole UTC days where the steps are (no zone, or one at UTC); elsewhere each day's row, and the
            // hours of it that belong to another step moved there (one snapshot: they are in the day's row).
            let (days, moved) = steps.plan()
            var window = filter
            window.fromDay = CivilDay.format(days.keys.min()!)
            window.toDay = CivilDay.format(days.keys.max()!)
            let read: (days: [AnalyticsDailyCounts], hours: [AnalyticsDailyCounts])
            if moved.isEmpty {
                read = (try analytics.dailyCounts(window, groupBy: groupBy, recount: false), [])
            } else {
                let hours = moved.keys.sorted().map(hourKey)
                read = try analytics.dailyAndHourlyCounts(window, hours: HourRange(from: hours.first!, to: hours.last!, only: hours), groupBy: groupBy)
            }
            for row in read.days { add(row, to: CivilDay.parse(row.day).flatMap { days[$0] ?? nil }) }
            for row in read.hours {
                guard let t = ZonedSteps.instant(ofHourKey: row.day), let (from, to) = moved[t] else { continue }
                add(row, to: from, -1)
                add(row, to: to)
            }
        }
        if groupBy?.closedValues == nil, groupBy != nil {
            // Ids sorted, "none" (no assistant or number) last.
            keys.sort { a, b in b == nil ? a != nil : (a.map { $0 < b! } ?? false) }
        }
        let series = keys.map { key in
            Series(key: key, points: points[key]!.map { var p = $0; p.avgDurationSeconds = AnalyticsFormat.average(p.totalDurationSeconds, over: p.conversations); return p })
        }
        return (steps, series)
    }
}

extension TimeSeriesRoutes.Point {
    mutating func add(_ row: AnalyticsDailyCounts, _ sign: Int = 1) {
        conversations += sign * row.conversations; successful += sign * row.resolved; failed += sign * row.failed
        escalated += sign * row.escalated; totalDurationSeconds += sign * row.durationSeconds
    }
}

extension Array {
    /// The first index whose element is not `belongs` (the elements that are come first).
    func partitionPoint(_ belongs: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if belongs(self[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
