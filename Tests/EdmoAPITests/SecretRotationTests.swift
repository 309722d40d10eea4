import EdmoCore
import EdmoService
import EdmoStore
import Foundation
import Testing

/// `edmo rotate-secret-key`'s work (`SecretRotation`) on both stores: everything ends under the new key,
/// an interrupted run resumes, a credential changed meanwhile is kept, an unreadable one is reported.
struct SecretRotationTests {
    static let keyA = [UInt8](repeating: 0xA1, count: 32)
    static let keyB = [UInt8](repeating: 0xB2, count: 32)
    static let keyC = [UInt8](repeating: 0xC3, count: 32)
    static let old = SecretBox(key: keyA)
    static let new = SecretBox(key: keyB)
    static let rotating = SecretBox(key: keyB, previous: keyA)

    /// `tools` tool secrets and as many phone credentials sealed with `box`, plus a tool and a number with none.
    static func deployment(_ kind: StoreKind, tools: Int, box: SecretBox = old) throws -> ContractDatabase {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        for n in 1...tools {
            let org = n % 2 == 0 ? "org_b" : "org_a"
            try db.document(.tool, String(format: "t%02d", n), org: org, secret: box.seal(Array("tool-secret-\(n)".utf8)))
            try db.phoneNumber(
                String(format: "p%02d", n), org: org, number: "+1555000\(n)",
                credentials: box.seal(Array(#"{"twilioAuthToken":"token-\#(n)"}"#.utf8)))
        }
        try db.document(.tool, "t99", org: "org_a")
        try db.phoneNumber("p99", org: "org_a", number: "+15559999")
        return db
    }

    /// Every sealed value opened with `box`, by table and id (nil: it does not open).
    static func opened(_ db: ContractDatabase, with box: SecretBox) throws -> [String: String?] {
        var all: [String: String?] = [:]
        for table in SealedTable.allCases {
            for value in try db.resources.sealedValues(table, after: nil, through: nil, limit: 1000) {
                // updateValue: a subscript assignment of nil would drop the key.
                all.updateValue(box.open(value.sealed).map { String(decoding: $0, as: UTF8.self) }, forKey: "\(table.rawValue) \(value.id)")
            }
        }
        return all
    }

    static func expected(tools: Int) -> [String: String?] {
        var all: [String: String?] = [:]
        for n in 1...tools {
            all[String(format: "tool_secrets t%02d", n)] = "tool-secret-\(n)"
            all[String(format: "phone_numbers p%02d", n)] = #"{"twilioAuthToken":"token-\#(n)"}"#
        }
        return all
    }

    @Test(arguments: StoreKind.tested)
    func afterRotationTheOldKeyOpensNothingAndTheNewOneEverything(_ kind: StoreKind) throws {
        let db = try Self.deployment(kind, tools: 5)
        #expect(try Self.opened(db, with: Self.old) == Self.expected(tools: 5))
        var lines: [String] = []
        let report = try SecretRotation(store: db.resources, box: Self.rotating, batchSize: 2).run { lines.append($0) }
        #expect(report.resealed == 10 && report.alreadyCurrent == 0 && report.unreadable.isEmpty && report.complete)
        #expect(lines.count == 6)  // three batches of each table
        #expect(try Self.opened(db, with: Self.new) == Self.expected(tools: 5))
        let underOld = try Self.opened(db, with: Self.old)
        #expect(underOld.count == 10 && underOld.values.allSatisfy { $0 == nil })
        // Nothing a client sees moved: versions (ETags) stay.
        #expect(try db.resources.phoneNumber(orgId: "org_a", id: "p01")?.version == 1)
        #expect(try db.resources.document(.tool, orgId: "org_a", id: "t01")?.version == 1)
        // Run again: nothing left to do.
        let again = try SecretRotation(store: db.resources, box: Self.rotating, batchSize: 3).run()
        #expect(again.resealed == 0 && again.alreadyCurrent == 10 && again.unreadable.isEmpty)
        // The check that allows removing the previous key passes with the new key alone.
        let check = try SecretRotation(store: db.resources, box: Self.new, checkOnly: true).run()
        #expect(check.alreadyCurrent == 10 && check.resealed == 0 && check.unreadable.isEmpty)
    }

    @Test(arguments: StoreKind.tested)
    func aRotationStoppedAfterSomeBlobsResumesToCompletion(_ kind: StoreKind) throws {
        let db = try Self.deployment(kind, tools: 4)
        let first = try SecretRotation(store: db.resources, box: Self.rotating, batchSize: 3, limit: 3).run()
        #expect(first.resealed == 3 && first.stoppedAtLimit && !first.complete)
        #expect(try Self.opened(db, with: Self.new).values.compactMap { $0 }.count == 3)
        // Counting only changes nothing and names what is left.
        let check = try SecretRotation(store: db.resources, box: Self.rotating, checkOnly: true).run()
        #expect(check.alreadyCurrent == 3 && check.resealed == 5)
        let second = try SecretRotation(store: db.resources, box: Self.rotating, batchSize: 3).run()
        #expect(second.resealed == 5 && second.alreadyCurrent == 3 && second.complete)
        #expect(try Self.opened(db, with: Self.new) == Self.expected(tools: 4))
    }

    @Test(arguments: StoreKind.tested)
    func aRotationThatFailsMidwayKeepsItsCommittedBatchesAndResumes(_ kind: StoreKind) throws {
        let db = try Self.deployment(kind, tools: 4)
        var rotation = try SecretRotation(store: db.resources, box: Self.rotating, batchSize: 3)
        var batches = 0
        rotation.beforeWrite = { _, _ in
            batches += 1
            if batches == 2 { throw TestFailure("the process dies here") }
        }
        #expect(throws: TestFailure.self) { try rotation.run() }
        // The first batch's transaction committed, the second's never began: three tool secrets moved.
        let moved = try Self.opened(db, with: Self.new).filter { $0.value != nil }.keys.sorted()
        #expect(moved == ["tool_secrets t01", "tool_secrets t02", "tool_secrets t03"])
        // The server opens every one meanwhile: each opens with the new key or the previous one.
        #expect(try Self.opened(db, with: Self.rotating) == Self.expected(tools: 4))
        let resumed = try SecretRotation(store: db.resources, box: Self.rotating, batchSize: 3).run()
        #expect(resumed.resealed == 5 && resumed.alreadyCurrent == 3 && resumed.complete)
        #expect(try Self.opened(db, with: Self.new) == Self.expected(tools: 4))
    }

    @Test(arguments: StoreKind.tested)
    func aCredentialChangedDuringTheRotationIsNotOverwritten(_ kind: StoreKind) throws {
        let db = try Self.deployment(kind, tools: 3)
        var rotation = try SecretRotation(store: db.resources, box: Self.rotating, batchSize: 10)
        var changedOnce = false
        rotation.beforeWrite = { table, changes in
            guard table == .toolSecrets, !changedOnce else { return }
            changedOnce = true
            #expect(changes.map(\.id) == ["t01", "t02", "t03"])
            // Between the read and the write: a host with both keys seals a new t01 with the new key, a host
            // not yet restarted seals a new t02 with the old one, and t03 is deleted.
            for (id, box, secret) in [("t01", Self.new, "changed-1"), ("t02", Self.old, "changed-2")] {
                let record = try #require(try db.resources.document(.tool, orgId: "org_a", id: id)
                    ?? db.resources.document(.tool, orgId: "org_b", id: id))
                try db.resources.updateDocument(.tool, record, secret: .set(box.seal(Array(secret.utf8))), completing: nil)
            }
            try db.resources.deleteDocument(.tool, orgId: "org_a", id: "t03", version: nil, completing: nil)
        }
        let report = try rotation.run()
        // t01 kept as the server wrote it; t02 read again and re-sealed; t03 gone; the three numbers re-sealed.
        #expect(report.changedMeanwhile == 3)
        #expect(report.resealed == 4 && report.alreadyCurrent == 1 && report.unreadable.isEmpty && report.complete)
        var expected = Self.expected(tools: 3)
        expected["tool_secrets t01"] = "changed-1"
        expected["tool_secrets t02"] = "changed-2"
        expected["tool_secrets t03"] = nil
        #expect(try Self.opened(db, with: Self.new) == expected)
    }

    @Test(arguments: StoreKind.tested)
    func aValueThatOpensWithNeitherKeyIsReportedAndTheRestIsDone(_ kind: StoreKind) throws {
        let db = try Self.deployment(kind, tools: 3)
        let stranger = SecretBox(key: Self.keyC).seal(Array("sealed elsewhere".utf8))
        try db.document(.tool, "t50", org: "org_a", secret: stranger)
        try db.phoneNumber("p50", org: "org_b", number: "+15550050", credentials: [1, 2, 3])  // not even sealed
        let report = try SecretRotation(store: db.resources, box: Self.rotating, batchSize: 2).run()
        #expect(report.unreadable.map(\.description) == ["tool_secrets t50", "phone_numbers p50"])
        #expect(report.resealed == 6 && report.alreadyCurrent == 0)
        #expect(try db.resources.toolSecret(toolId: "t50") == stranger)  // left as it was
        var expected = Self.expected(tools: 3)
        expected["tool_secrets t50"] = .some(nil)
        expected["phone_numbers p50"] = .some(nil)
        #expect(try Self.opened(db, with: Self.new) == expected)
    }

    @Test
    func aRotationNeedsTwoDifferentKeys() throws {
        let db = try ContractDatabase(.sqlite)
        #expect(throws: SecretRotation.Refusal.self) { try SecretRotation(store: db.resources, box: Self.new) }
        let same = SecretBox(key: Self.keyB, previous: Self.keyB)
        do {
            _ = try SecretRotation(store: db.resources, box: same)
            Issue.record("equal keys were accepted")
        } catch let refusal as SecretRotation.Refusal {
            #expect(refusal.description.contains("same key"))
        }
        // Checking needs the current key only.
        #expect(try SecretRotation(store: db.resources, box: Self.new, checkOnly: true).run() == SecretRotation.Report())
    }
}
