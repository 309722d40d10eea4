import EdmoCore
import EdmoStore
import Foundation
import Synchronization
import Testing

/// The contract under concurrent writers, as several edmo hosts (or worker threads) write to one
/// PostgreSQL database: threads of their own, each on its own connection of the pool. On SQLite the one
/// writer serializes them; the outcomes must be the same.
struct StoreContractConcurrencyTests {
    static let threads = 8

    /// Hands each thread its own index.
    final class Indexes: Sendable {
        private let next = Mutex(0)
        func take() -> Int { next.withLock { value in defer { value += 1 }; return value } }
    }

    /// Each update counts one more than the count it read: an update that overwrote another it had not
    /// read (a lost update) would leave the count below the number of successes.
    @Test(arguments: StoreKind.tested)
    func conditionalDocumentUpdatesCountEachSuccessOnceAndTheRestAreStale(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        var first = try db.document(.assistant, "a1", org: "org_a")
        first.body = #"{"n":0}"#
        let (resources, outcomes) = (db.resources, Outcomes())
        try resources.updateDocument(.assistant, first, secret: .keep, completing: nil)
        try runThreads(Self.threads) {
            for _ in 0..<10 {
                outcomes.record {
                    guard var record = try resources.document(.assistant, orgId: "org_a", id: "a1") else { throw StoreError.notFound("a1") }
                    record.body = #"{"n":\#((Int(record.body.filter(\.isNumber)) ?? 0) + 1)}"#
                    try resources.updateDocument(.assistant, record, secret: .keep, completing: nil)
                }
            }
        }
        let stale = "\(StoreError.stale)"
        #expect(Set(outcomes.all.keys).isSubset(of: ["ok", stale]), "\(outcomes.all)")
        #expect(outcomes["ok"] + outcomes[stale] == Self.threads * 10)
        let record = try #require(try resources.document(.assistant, orgId: "org_a", id: "a1"))
        #expect(record.body == #"{"n":\#(outcomes["ok"])}"#)
        #expect(record.version == 2 + outcomes["ok"])
        #expect(kind == .sqlite || outcomes[stale] > 0, "no two threads ever raced")
    }

    @Test(arguments: StoreKind.tested)
    func conditionalUserUpdatesCountEachSuccessOnceAndTheRestAreStale(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        try db.user("usr_1", org: "org_a", role: .editor)
        let (accounts, outcomes) = (db.accounts, Outcomes())
        try runThreads(Self.threads) {
            for _ in 0..<10 {
                outcomes.record {
                    guard let user = try accounts.user(orgId: "org_a", id: "usr_1") else { throw StoreError.notFound("usr_1") }
                    var change = UserChange()
                    change.expectedVersion = user.version
                    change.name = .value(String((Int(user.name ?? "") ?? 0) + 1))
                    _ = try accounts.updateUser(orgId: "org_a", id: "usr_1", change: change, now: t0)
                }
            }
        }
        let stale = "\(StoreError.stale)"
        #expect(Set(outcomes.all.keys).isSubset(of: ["ok", stale]), "\(outcomes.all)")
        let user = try #require(try accounts.user(orgId: "org_a", id: "usr_1"))
        #expect(user.version == 1 + outcomes["ok"])
        #expect(user.name == String(outcomes["ok"]))
        #expect(kind == .sqlite || outcomes[stale] > 0, "no two threads ever raced")
    }

    @Test(arguments: StoreKind.tested)
    func ofClaimersOfTheSameJobAtOnceExactlyOneWins(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        let resources = db.resources
        for round in 0..<5 {
            let winners = Mutex(0)
            try runThreads(Self.threads) {
                if (try? resources.claimJob("job-\(round % 2)", every: 60, now: t0.addingTimeInterval(Double(round / 2) * 60))) == true {
                    winners.withLock { $0 += 1 }
                }
            }
            #expect(winners.withLock { $0 } == 1, "round \(round)")
        }
    }

    @Test(arguments: StoreKind.tested)
    func failedLoginsOnEveryThreadAreAllCounted(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        let (accounts, outcomes, seen) = (db.accounts, Outcomes(), Seen())
        let counters = [
            LoginCounter(key: "account") { count in seen.append(count); return nil },
            LoginCounter(key: "address") { _ in nil },
        ]
        try runThreads(Self.threads) {
            for _ in 0..<5 { outcomes.record { try accounts.recordLoginFailures(counters, now: t0, window: 600) } }
        }
        #expect(outcomes.all == ["ok": Self.threads * 5])
        #expect(seen.all.sorted() == Array(1...(Self.threads * 5)))
    }

    @Test(arguments: StoreKind.tested)
    func twoAdminsDemotedAtOnceLeaveOneActiveAdmin(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        let accounts = db.accounts
        for round in 0..<10 {
            let org = "org_\(round)"
            try db.organization(org, id: org)
            try db.user("\(org)_1", org: org)
            try db.user("\(org)_2", org: org)
            let (outcomes, indexes) = (Outcomes(), Indexes())
            try runThreads(2) {
                let index = indexes.take() + 1
                var change = UserChange()
                if index == 1 { change.role = .viewer } else { change.disabled = true }
                outcomes.record { _ = try accounts.updateUser(orgId: org, id: "\(org)_\(index)", change: change, now: t0) }
            }
            #expect(outcomes["ok"] == 1, "round \(round): \(outcomes.all)")
            let active = try accounts.users(orgId: org, limit: 10, offset: 0).items.filter { $0.role == .admin && !$0.disabled }
            #expect(active.count == 1, "round \(round)")
        }
    }

    @Test(arguments: StoreKind.tested)
    func ofInsertsOfOneEmailOrNumberAtOnceOneWinsAndTheRestConflict(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        let organizations = Mutex<Set<String>>([])
        let (accounts, indexes) = (db.accounts, Indexes())
        try runThreads(Self.threads) {
            let org = try? accounts.ensureOrganization(name: "Uni", id: "org_\(indexes.take())", now: t0)
            _ = organizations.withLock { $0.insert(org?.id ?? "failed") }
        }
        let org = try #require(organizations.withLock { $0 }.first)
        #expect(organizations.withLock { $0 } == [org])

        let (users, numbers) = (Outcomes(), Outcomes())
        try runThreads(Self.threads) {
            let index = indexes.take()
            users.record { try db.user("usr_\(index)", org: org, email: "same@example.edu") }
            numbers.record { try db.phoneNumber("pn_\(index)", org: org, number: "+15550000") }
        }
        #expect(users.all == ["ok": 1, "A user with this email already exists": Self.threads - 1])
        #expect(numbers.all == ["ok": 1, "The number +15550000 is already registered": Self.threads - 1])
    }
}
