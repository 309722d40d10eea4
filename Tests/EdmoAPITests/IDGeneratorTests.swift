import EdmoService
import Foundation
import Testing

/// Ids are the creation time, then randomness: they keep their shape (prefix, 24 hex characters) and sort in
/// the order they were made, so a table's id index grows at its end (`IDGenerator.timeOrdered`).
@Suite struct IDGeneratorTests {
    @Test func anIdIsThePrefixAnd24HexCharacters() {
        let id = IDGenerator.timeOrdered.next("asst")
        #expect(id.count == 5 + 24)
        #expect(id.hasPrefix("asst_"))
        #expect(id.dropFirst(5).allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func itStartsWithTheTimeInMilliseconds() throws {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let id = IDGenerator.timeOrdered.next("tool")
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        let time = try #require(UInt64(id.dropFirst(5).prefix(11), radix: 16))
        #expect(time >= before && time <= after)
    }

    @Test func laterIdsSortLaterAndNoneRepeats() {
        var ids: [String] = []
        for _ in 0..<20 {
            ids.append(IDGenerator.timeOrdered.next("kb"))
            usleep(2_000)
        }
        #expect(ids == ids.sorted())
        let burst = (0..<10_000).map { _ in IDGenerator.timeOrdered.next("kb") }
        #expect(Set(burst).count == burst.count)
    }
}
