import EdmoCore
import EdmoStore
import Foundation
import Testing

/// ResourceStore's contract for the provider journal, job claims and the organisation count, the same
/// assertions on every store.
struct StoreContractOperationTests {
    @Test(arguments: StoreKind.tested)
    func theJournalListsOperationsOldestFirstUntilTheyEnd(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        try db.operation("op_b", org: "org_a", kind: .tool, second: 2)
        try db.operation("op_a", org: "org_b", kind: .phoneNumber, second: 1)
        try db.operation("op_c", org: "org_a", second: 3)
        let pending = try db.resources.pendingOperations()
        #expect(pending.map(\.id) == ["op_a", "op_b", "op_c"])
        #expect(pending[0] == ProviderOperation(
            id: "op_a", orgId: "org_b", kind: .phoneNumber, action: .create, localId: "local-op_a", owner: "usr_1",
            startedAt: Timestamp.format(t0.addingTimeInterval(1))))
        #expect(throws: (any Error).self) { try db.operation("op_a", org: "org_a") }
        try db.resources.endOperation(id: "op_b")
        try db.resources.endOperation(id: "op_unknown")
        #expect(try db.resources.pendingOperations().map(\.id) == ["op_a", "op_c"])
    }

    @Test(arguments: StoreKind.tested)
    func aJobIsClaimedAtMostOncePerInterval(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        func claim(_ name: String, at second: TimeInterval) throws -> Bool {
            try db.resources.claimJob(name, every: 60, now: t0.addingTimeInterval(second))
        }
        #expect(try claim("expiry", at: 0))
        #expect(!(try claim("expiry", at: 0)))
        #expect(!(try claim("expiry", at: 59.999)))
        #expect(try claim("sync", at: 30))
        // The interval is inclusive: a claim exactly one interval later wins, and starts the next.
        #expect(try claim("expiry", at: 60))
        #expect(!(try claim("expiry", at: 119)))
        #expect(try claim("expiry", at: 500))
        #expect(!(try claim("sync", at: 89)))
    }

    @Test(arguments: StoreKind.tested)
    func theSoleOrganizationIsKnownOnlyWhileThereIsOne(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        #expect(try db.resources.organizationCount() == 0)
        #expect(try db.resources.soleOrganizationId() == nil)
        try db.organization("A", id: "org_a")
        #expect(try db.resources.organizationCount() == 1)
        #expect(try db.resources.soleOrganizationId() == "org_a")
        try db.organization("B", id: "org_b")
        #expect(try db.resources.organizationCount() == 2)
        #expect(try db.resources.soleOrganizationId() == nil)
    }
}
