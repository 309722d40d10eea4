import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// GET /api/analytics/timeseries: the counts of `GET /api/analytics` per day, week or month, read from the
/// daily aggregates (so its cost grows with days and groups, not conversations), with every step present.
enum TimeSeriesRoutes {
    struct Meta: Encodable {
        let from, to, step, tz: String
        /// Days are UTC days whatever `tz` (the aggregates are per UTC day).
        let dayBoundaries = "UTC"
        @Nullable var groupBy: String?
        let channel, sentiment, resolution: String
        @Nullable var assistantId: String?
        @Nullable var phoneNumberId: String?
    }

    struct Point: Encodable {
        let start, end: String
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

    enum Step: String, CaseIterable { case day, week, month }

    /// The steps from the one holding `from` to the one holding `to`, each cut to `from...to`.
    static func steps(_ step: Step, from: Int, to: Int) -> [(start: Int, end: Int)] {
        var out: [(Int, Int)] = []
        var start = from
        while start <= to {
            let next = switch step {
            case .day: start + 1
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
        let rows = try context.analytics.dailyCounts(filter, groupBy: groupBy, recount: false)
        let steps = steps(step, from: window.from, to: window.to)
        let empty = steps.map { Point(start: CivilDay.format($0.start), end: CivilDay.format($0.end)) }
        // Days in order, so each row's step is found by walking forward.
        var keys: [String?] = groupBy == nil ? [nil] : groupBy!.closedValues ?? []
        var points: [String?: [Point]] = Dictionary(uniqueKeysWithValues: keys.map { ($0, empty) })
        for row in rows {
            guard let day = CivilDay.parse(row.day) else { continue }
            let index = steps.partitionPoint { $0.end < day }
            guard index < steps.count else { continue }
            if points[row.key] == nil { keys.append(row.key); points[row.key] = empty }
            points[row.key]![index].add(row)
        }
        if groupBy?.closedValues == nil, groupBy != nil {
            // Ids sorted, "none" (no assistant or number) last.
            keys.sort { a, b in b == nil ? a != nil : (a.map { $0 < b! } ?? false) }
        }
        let series = keys.map { key in
            Series(key: key, points: points[key]!.map { var p = $0; p.avgDurationSeconds = AnalyticsFormat.average(p.totalDurationSeconds, over: p.conversations); return p })
        }
        let meta = Meta(
            from: window.fromDay, to: window.toDay, step: step.rawValue, tz: window.tz, groupBy: groupBy?.rawValue,
            channel: filter.channel?.rawValue ?? "all", sentiment: filter.sentiment?.rawValue ?? "all",
            resolution: filter.resolution?.rawValue ?? "all",
            assistantId: request.query["assistantId"].flatMap { $0.isEmpty ? nil : $0 },
            phoneNumberId: request.query["phoneNumberId"].flatMap { $0.isEmpty ? nil : $0 })
        return try Response.json(Answer(meta: meta, series: series))
    }
}

extension TimeSeriesRoutes.Point {
    mutating func add(_ row: AnalyticsDailyCounts) {
        conversations += row.conversations; successful += row.resolved; failed += row.failed
        escalated += row.escalated; totalDurationSeconds += row.durationSeconds
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
