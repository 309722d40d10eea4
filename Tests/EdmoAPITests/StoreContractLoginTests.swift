import EdmoCore
import EdmoStore
import Foundation
import Testing

/// AccountStore's login throttle: counters, windows, locks, their purge, and known addresses, the same
/// assertions on every store.
struct StoreContractLoginTests {
    static let window: TimeInterval = 600

    /// A counter that locks (for a minute unless told) from the third failure, and notes every count it is
    /// asked about.
    static func counter(_ key: String, lock: TimeInterval, seen: Seen?) -> LoginCounter {
        LoginCounter(key: key) { failures in
            seen?.append(failures)
            return failures >= 3 ? lock : nil
        }
    }

    func fail(
        _ db: ContractDatabase, _ keys: [String], at second: TimeInterval, lock: TimeInterval = 60, seen: Seen? = nil
    ) throws {
        try db.accounts.recordLoginFailures(
            keys.map { Self.counter($0, lock: lock, seen: seen) }, now: t0.addingTimeInterval(second), window: Self.window)
    }

    @Test(arguments: StoreKind.tested)
    func failuresAreCountedWithinTheWindowAndLockFromTheRulesCount(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        let seen = Seen()
        try fail(db, ["k1"], at: 0, seen: seen)
        try fail(db, ["k1"], at: 10, seen: seen)
        #expect(try db.accounts.loginLocks(keys: ["k1"], now: t0.addingTimeInterval(10)).isEmpty)
        try fail(db, ["k1"], at: 20.5, seen: seen)
        #expect(seen.all == [1, 2, 3])
        let until = t0.addingTimeInterval(80.5)
        #expect(try db.accounts.loginLocks(keys: ["k1", "k2"], now: t0.addingTimeInterval(30)) == ["k1": until])
        // The lock ends at its date, exclusive.
        #expect(try db.accounts.loginLocks(keys: ["k1"], now: until).isEmpty)
        // A failure after the window starts a new one, counted from 1.
        try fail(db, ["k1"], at: Self.window + 1, seen: seen)
        #expect(seen.all.last == 1)
        #expect(try db.accounts.loginLocks(keys: ["k1"], now: t0.addingTimeInterval(Self.window + 1)).isEmpty)
    }

    @Test(arguments: StoreKind.tested)
    func oneCallCountsEveryCounterItNames(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        let seen = Seen()
        try fail(db, ["account", "address"], at: 0)
        try fail(db, ["address"], at: 1)
        try fail(db, ["account", "address"], at: 2, seen: seen)
        #expect(seen.all.sorted() == [2, 3])
        #expect(try db.accounts.loginLocks(keys: ["account", "address"], now: t0.addingTimeInterval(2)).keys.sorted() == ["address"])
    }

    @Test(arguments: StoreKind.tested)
    func countersWhoseWindowAndLockArePastArePurged(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        try fail(db, ["old"], at: 0)
        for second in [0.0, 1, 2] { try fail(db, ["locked"], at: second, lock: 1000) }
        try fail(db, ["new"], at: 61)
        #expect(try db.rows(in: "login_failures") == 3)
        // Past their window: "old" goes, "locked" stays while its lock runs (to +1002).
        try fail(db, ["new"], at: Self.window + 1)
        #expect(try db.rows(in: "login_failures") == 2)
        #expect(try db.accounts.loginLocks(keys: ["locked"], now: t0.addingTimeInterval(Self.window + 1)).count == 1)
        try fail(db, ["new"], at: 1003)
        #expect(try db.rows(in: "login_failures") == 1)
    }

    @Test(arguments: StoreKind.tested)
    func aSuccessClearsItsCountersAndRemembersTheAddressForAYear(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        try fail(db, ["account", "address", "other"], at: 0)
        try fail(db, ["account", "address", "other"], at: 1)
        try fail(db, ["account", "address", "other"], at: 2)
        #expect(!(try db.accounts.isKnownLoginAddress("known-1")))
        try db.accounts.recordLoginSuccess(clearing: ["account", "address"], knownAddress: "known-1", now: t0.addingTimeInterval(3))
        #expect(try db.accounts.loginLocks(keys: ["account", "address", "other"], now: t0.addingTimeInterval(3)).keys.sorted() == ["other"])
        #expect(try db.accounts.isKnownLoginAddress("known-1"))
        #expect(!(try db.accounts.isKnownLoginAddress("known-2")))
        let seen = Seen()
        try fail(db, ["account"], at: 4, seen: seen)
        #expect(seen.all == [1])

        // Another success refreshes the date of its address; addresses not seen for a year are dropped.
        let day: TimeInterval = 86_400
        try db.accounts.recordLoginSuccess(clearing: [], knownAddress: "known-2", now: t0.addingTimeInterval(200 * day))
        try db.accounts.recordLoginSuccess(clearing: [], knownAddress: "known-1", now: t0.addingTimeInterval(300 * day))
        try db.accounts.recordLoginSuccess(clearing: [], knownAddress: "known-3", now: t0.addingTimeInterval(566 * day))
        #expect(try ["known-1", "known-2", "known-3"].filter { try db.accounts.isKnownLoginAddress($0) } == ["known-1", "known-3"])
        #expect(try db.rows(in: "login_known_addresses") == 2)
    }
}
