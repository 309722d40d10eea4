import EdmoCore
import EdmoStore
import Foundation
import Testing

/// ResourceStore's contract for phone numbers and for finding an owner across organisations, the same
/// assertions on every store.
struct StoreContractPhoneNumberTests {
    @Test(arguments: StoreKind.tested)
    func aNumberIsRegisteredOnceAcrossOrganizationsWithItsCredentials(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        let credentials: [UInt8] = [0, 0x7B, 0xFF, 0x22, 0]
        let first = try db.phoneNumber("p1", org: "org_a", number: "+15550001", credentials: credentials)
        #expect(try db.resources.phoneNumber(orgId: "org_a", id: "p1") == first)
        #expect(try db.resources.phoneNumberExists(number: "+15550001"))
        #expect(!(try db.resources.phoneNumberExists(number: "+15550002")))
        #expect(throws: StoreError.conflict("The number +15550001 is already registered")) {
            try db.phoneNumber("p2", org: "org_b", number: "+15550001")
        }
        #expect(try db.rows(in: "phone_numbers") == 1)
        #expect(throws: (any Error).self) { try db.phoneNumber("p1", org: "org_a", number: "+15550003") }
    }

    @Test(arguments: StoreKind.tested)
    func numbersPageNewestFirstAndAreFoundByLocalOrProviderId(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        try db.phoneNumber("p1", org: "org_a", number: "+1", providerId: "vapi-1", second: 1)
        try db.phoneNumber("p2", org: "org_a", number: "+2", providerId: "p1", second: 2)
        try db.phoneNumber("p3", org: "org_a", number: "+3", second: 2)
        try db.phoneNumber("p9", org: "org_b", number: "+9", providerId: "vapi-9", second: 9)
        let page = try db.resources.phoneNumbers(orgId: "org_a", limit: 2, offset: 0)
        #expect(page.items.map(\.id) == ["p3", "p2"])
        #expect(page.total == 3)
        #expect(try db.resources.phoneNumbers(orgId: "org_a", limit: 2, offset: 2).items.map(\.id) == ["p1"])
        #expect(try db.resources.phoneNumbers(orgId: "org_a", limit: 2, offset: 3).items.isEmpty)
        #expect(try db.resources.phoneNumber(orgId: "org_a", id: "p1")?.id == "p1")
        #expect(try db.resources.phoneNumber(orgId: "org_a", id: "vapi-1")?.id == "p1")
        #expect(try db.resources.phoneNumber(orgId: "org_b", id: "p1") == nil)
        // Across organisations, those the voice platform knows.
        #expect(try db.resources.phoneNumbersWithProviderIds().map(\.id).sorted() == ["p1", "p2", "p9"])
    }

    @Test(arguments: StoreKind.tested)
    func updatesAndDeletesAreConditionalOnTheVersionRead(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        try db.document(.assistant, "a1", org: "org_a")
        var record = try db.phoneNumber("p1", org: "org_a", number: "+1", credentials: [1, 2])
        (record.number, record.name, record.assistantId, record.providerId) = ("+2", nil, "a1", "vapi-1")
        record.updatedAt = Timestamp.format(t0.addingTimeInterval(5))
        // Credentials are written by the insert alone.
        record.credentials = [7]
        #expect(try db.resources.updatePhoneNumber(record, completing: nil) == 2)
        var expected = record
        (expected.version, expected.credentials) = (2, [1, 2])
        #expect(try db.resources.phoneNumber(orgId: "org_a", id: "p1") == expected)
        #expect(throws: StoreError.stale) { try db.resources.updatePhoneNumber(record, completing: nil) }
        var gone = expected
        gone.id = "p9"
        #expect(throws: StoreError.notFound("Phone number")) { try db.resources.updatePhoneNumber(gone, completing: nil) }
        // Another row's number is refused: by SQLite with its raw constraint error, by PostgreSQL in the
        // insert's words (the one place the stores differ; see PostgresResourceStore.updatePhoneNumber).
        try db.phoneNumber("p3", org: "org_a", number: "+3")
        var taken = expected
        taken.number = "+3"
        let refusal = #expect(throws: (any Error).self) { try db.resources.updatePhoneNumber(taken, completing: nil) }
        if kind == .postgres { #expect(refusal as? StoreError == .conflict("The number +3 is already registered")) }
        #expect(try db.resources.phoneNumber(orgId: "org_a", id: "p1") == expected)

        // The sync's count of missed listings is not an edit: the version stays.
        try db.resources.setPhoneNumberMissingSyncs(id: "p1", 1)
        expected.missingSyncs = 1
        #expect(try db.resources.phoneNumber(orgId: "org_a", id: "p1") == expected)

        #expect(throws: StoreError.stale) { try db.resources.deletePhoneNumber(orgId: "org_a", id: "p1", version: 1, completing: nil) }
        try db.resources.deletePhoneNumber(orgId: "org_a", id: "p1", version: 2, completing: nil)
        #expect(throws: StoreError.notFound("Phone number")) {
            try db.resources.deletePhoneNumber(orgId: "org_a", id: "p1", version: nil, completing: nil)
        }
        try db.phoneNumber("p2", org: "org_a", number: "+2")
        try db.resources.deletePhoneNumber(orgId: "org_a", id: "p2", version: nil, completing: nil)
        #expect(!(try db.resources.phoneNumberExists(number: "+2")))
    }

    @Test(arguments: StoreKind.tested)
    func deletingAnAssistantDetachesItsNumbersAndRaisesTheirVersion(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        try db.document(.assistant, "a1", org: "org_a")
        try db.document(.assistant, "a2", org: "org_a")
        let attached = try db.phoneNumber("p1", org: "org_a", number: "+1", assistant: "a1")
        try db.phoneNumber("p2", org: "org_a", number: "+2", assistant: "a2")
        try db.resources.deleteDocument(.assistant, orgId: "org_a", id: "a1", version: nil, completing: nil)
        let detached = try #require(try db.resources.phoneNumber(orgId: "org_a", id: "p1"))
        #expect(detached.assistantId == nil)
        #expect(detached.version == 2)
        // A PATCH that read the number attached now loses.
        #expect(throws: StoreError.stale) { try db.resources.updatePhoneNumber(attached, completing: nil) }
        #expect(try db.resources.phoneNumber(orgId: "org_a", id: "p2")?.version == 1)
    }

    @Test(arguments: StoreKind.tested)
    func anOwnerIsFoundByLocalOrPlatformIdAcrossOrganizations(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        try db.document(.assistant, "a1", org: "org_a", providerId: "vapi-a1")
        try db.document(.assistant, "a2", org: "org_b", providerId: "a1")
        try db.phoneNumber("p1", org: "org_b", number: "+1", providerId: "vapi-p1")
        func owner(_ kind: OwnedKind, _ id: String) throws -> [String]? { try db.resources.owner(kind, id: id).map { [$0.orgId, $0.localId] } }
        #expect(try owner(.assistants, "a1") == ["org_a", "a1"])
        #expect(try owner(.assistants, "vapi-a1") == ["org_a", "a1"])
        #expect(try owner(.assistants, "a2") == ["org_b", "a2"])
        #expect(try owner(.phoneNumbers, "vapi-p1") == ["org_b", "p1"])
        #expect(try owner(.phoneNumbers, "p1") == ["org_b", "p1"])
        #expect(try owner(.phoneNumbers, "a1") == nil)
        #expect(try owner(.assistants, "nope") == nil)
    }
}
