@testable import EdmoAPI
import Foundation
import Testing

/// Where the time series' local days begin (`ZonedSteps`), against Foundation's calendar; no store.
struct ZonedStepsTests {
    static let day = 86_400

    /// Whole-hour zones with DST at 01:00, 02:00, 03:00 and at midnight (Santiago, Havana, Beirut), half- and
    /// quarter-hour zones, a half-hour DST change (Lord Howe), a skipped date (Apia, 2011-12-30).
    static let zones = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "America/Santiago",
                        "America/Havana", "Asia/Beirut", "Australia/Sydney", "Pacific/Auckland", "Asia/Kolkata", "Asia/Kathmandu",
                        "America/St_Johns", "Australia/Adelaide", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Apia",
                        "Pacific/Kiritimati", "Pacific/Pago_Pago"]

    @Test func localDaysBeginWhereFoundationsCalendarStartsThem() {
        var random = FuzzTests.SplitMix(state: 7)
        for name in Self.zones {
            let zone = TimeZone(identifier: name)!
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            // Every day of 2024 and 2026, and random days from 1995 to 2037.
            let days = Array(CivilDay.days(2024, 1, 1)...CivilDay.days(2024, 12, 31)) + Array(CivilDay.days(2026, 1, 1)...CivilDay.days(2026, 12, 31))
                + (0..<300).map { _ in Int.random(in: CivilDay.days(1995, 1, 1)...CivilDay.days(2037, 12, 31), using: &random) }
            for day in days {
                let (y, m, d) = CivilDay.civil(day)
                guard let noon = calendar.date(from: DateComponents(year: y, month: m, day: d, hour: 12)),
                      calendar.component(.day, from: noon) == d else { continue }  // a date the zone skipped
                let want = Int(calendar.startOfDay(for: noon).timeIntervalSince1970)
                #expect(ZonedSteps.start(of: day, in: zone) == want, "\(name) \(CivilDay.format(day))")
            }
        }
    }

    @Test func aDayIs23Or25HoursAcrossDSTAndHalfHourZonesBeginOnTheirUTCHour() {
        let newYork = TimeZone(identifier: "America/New_York")!
        let march = ZonedSteps(.day, from: CivilDay.parse("2026-03-07")!, to: CivilDay.parse("2026-03-09")!, zone: newYork)
        #expect(march.steps.map { ($0.to - $0.from) / 3600 } == [24, 23, 24])
        #expect(march.steps.map { march.timestamp($0.from) } == ["2026-03-07T00:00:00-05:00", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"])
        #expect(march.shiftMinutes == 0)
        let november = ZonedSteps(.day, from: CivilDay.parse("2026-11-01")!, to: CivilDay.parse("2026-11-01")!, zone: newYork)
        #expect(november.steps.map { ($0.to - $0.from) / 3600 } == [25])
        let hours = ZonedSteps(.hour, from: CivilDay.parse("2026-03-08")!, to: CivilDay.parse("2026-03-08")!, zone: newYork)
        #expect(hours.steps.count == 23)
        #expect(hours.steps[1...2].map { hours.timestamp($0.from) } == ["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"])
        #expect(hours.steps.allSatisfy { $0.startDay == CivilDay.parse("2026-03-08")! })

        let kolkata = ZonedSteps(.week, from: CivilDay.parse("2026-03-01")!, to: CivilDay.parse("2026-03-15")!, zone: TimeZone(identifier: "Asia/Kolkata")!)
        #expect(kolkata.shiftMinutes == 30)
        #expect(kolkata.steps.map { kolkata.timestamp($0.from) } == ["2026-02-28T23:30:00+05:30", "2026-03-01T23:30:00+05:30", "2026-03-08T23:30:00+05:30"])
        let kathmandu = ZonedSteps(.day, from: CivilDay.parse("2026-03-01")!, to: CivilDay.parse("2026-03-01")!, zone: TimeZone(identifier: "Asia/Kathmandu")!)
        #expect(kathmandu.shiftMinutes == 15 && kathmandu.timestamp(kathmandu.steps[0].from) == "2026-02-28T23:45:00+05:45")
        #expect(ZonedSteps(.month, from: 0, to: 400, zone: TimeZone(identifier: "UTC")!).onUTCDays)
        #expect(ZonedSteps(.day, from: CivilDay.parse("2026-01-01")!, to: CivilDay.parse("2026-01-02")!, zone: TimeZone(identifier: "Europe/London")!).onUTCDays)
        #expect(!ZonedSteps(.day, from: CivilDay.parse("2026-06-01")!, to: CivilDay.parse("2026-06-02")!, zone: TimeZone(identifier: "Europe/London")!).onUTCDays)
    }

    @Test func hourKeysRoundTrip() {
        for t in [0, 3600 * 5, -3600, CivilDay.days(2026, 3, 8) * Self.day + 7 * 3600, CivilDay.days(1969, 12, 31) * Self.day] {
            #expect(ZonedSteps.instant(ofHourKey: ZonedSteps.hourKey(t)) == t)
        }
        #expect(ZonedSteps.hourKey(CivilDay.days(2026, 3, 8) * Self.day + 7 * 3600) == "2026-03-08T07")
        for bad in ["2026-03-08T24", "2026-03-08", "2026-02-30T01", "2026-03-08T1x"] { #expect(ZonedSteps.instant(ofHourKey: bad) == nil) }
    }
}
