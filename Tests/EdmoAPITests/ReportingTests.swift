@testable import EdmoAPI
import EdmoStore
import Foundation
import Testing

/// The pieces of the reporting operations that need no store: dates, steps, cursors and CSV cells.
struct ReportingTests {
    @Test func civilDaysAgreeWithFoundationsCalendarFrom1600To9999() {
        // Foundation's calendar turns Julian before 1582: compared from 1600 on.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var random = FuzzTests.SplitMix(state: 1)
        let samples = (0..<2000).map { _ in Int.random(in: CivilDay.days(1600, 1, 1)...CivilDay.days(9999, 12, 31), using: &random) }
        for days in samples + [0, -1, 59, 60, CivilDay.days(2000, 2, 29), CivilDay.days(2100, 3, 1)] {
            let date = Date(timeIntervalSince1970: Double(days) * 86_400)
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: date)
            let (y, m, d) = CivilDay.civil(days)
            #expect(y == parts.year! && m == parts.month! && d == parts.day!, "\(days)")
            #expect(CivilDay.parse(CivilDay.format(days)) == days)
            // Foundation: Sunday = 1, Monday = 2.
            #expect(CivilDay.weekStart(days) == days - (parts.weekday! + 5) % 7, "\(days)")
            #expect(CivilDay.civil(CivilDay.monthStart(days)).day == 1 && CivilDay.monthStart(days) <= days)
            #expect(CivilDay.nextMonth(days) > days && CivilDay.civil(CivilDay.nextMonth(days)).day == 1)
        }
        for bad in ["2023-02-29", "2024-13-01", "2024-00-10", "0000-01-01", "2024-1-01", "2024/01/01", "２０２４-01-01", "2024-01-01 ", ""] {
            #expect(CivilDay.parse(bad) == nil, "\(bad)")
        }
        #expect(CivilDay.parse("2024-02-29") == CivilDay.days(2024, 2, 29))
        #expect(CivilDay.parse("0001-01-01").map(CivilDay.format) == "0001-01-01")
    }

    @Test func stepsCoverTheWindowOnceCutAtItsEnds() {
        let from = CivilDay.parse("2023-12-30")!, to = CivilDay.parse("2024-03-02")!
        for step in TimeSeriesRoutes.Step.allCases {
            let steps = TimeSeriesRoutes.steps(step, from: from, to: to)
            #expect(steps.first?.start == from && steps.last?.end == to)
            for (a, b) in zip(steps, steps.dropFirst()) { #expect(a.end + 1 == b.start) }
            switch step {
            case .day, .hour: #expect(steps.count == to - from + 1)
            case .week: #expect(steps.dropFirst().allSatisfy { CivilDay.weekStart($0.start) == $0.start && $0.end - $0.start <= 6 })
            case .month:
                #expect(steps.map { CivilDay.format($0.start) } == ["2023-12-30", "2024-01-01", "2024-02-01", "2024-03-01"])
                #expect(CivilDay.format(steps[2].end) == "2024-02-29")
            }
        }
    }

    @Test func cursorsRoundTripAndGarbageIsRefused() {
        let cursor = ConversationCursor(createdAt: "2024-01-01T10:00:00.000Z", id: "call-ÿ_1?+/")
        let token = PageCursor.encode(cursor)
        #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(PageCursor.decode(token) == cursor)
        for bad in ["", "!!", "not-a-cursor", PageCursor.encode(ConversationCursor(createdAt: "", id: "x")), String(repeating: "A", count: 401)] {
            #expect(PageCursor.decode(bad) == nil, "\(bad)")
        }
    }

    @Test func csvCellsAreQuotedAndFormulasNeutralised() {
        for lead in ["=", "+", "-", "@", "\t", "\r"] {
            #expect(CSV.field(lead + "1+1").hasPrefix(lead == "\r" ? "\"'" : "'"), "\(lead.debugDescription)")
        }
        #expect(CSV.field("plain") == "plain")
        #expect(CSV.field("a,b") == "\"a,b\"")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.field("two\nlines") == "\"two\nlines\"")
        #expect(CSV.field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(CSV.line(["a", "", "c"]) == "a,,c\r\n")
        // The byte writer of the exports writes what `line` does.
        let cells = ["plain", "", "a,b", "say \"hi\"", "two\nlines", "=1+1", "+33 1", "-", "@x", "\tx", "\rx", "é,\"ü\"", "'", "=\"\""]
        for a in cells { for b in cells {
            var out: [UInt8] = []
            CSV.append([a, b, a], to: &out)
            #expect(out == Array(CSV.line([a, b, a]).utf8), "\(a.debugDescription) \(b.debugDescription)")
        } }
    }
}
