import EdmoCore
import EdmoStore
import Foundation
import Testing

/// ResourceStore's contract for the sealed values a key rotation walks: paged by id across organisations,
/// replaced only where the stored bytes are still the ones read.
struct StoreContractSecretTests {
    @Test(arguments: StoreKind.tested)
    func sealedValuesArePagedByIdAcrossOrganizations(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        for (n, org) in [(1, "org_a"), (2, "org_b"), (3, "org_a")] {
            try db.document(.tool, "t\(n)", org: org, secret: [UInt8(n), 0, 0xFF])
            try db.phoneNumber("p\(n)", org: org, number: "+1555000\(n)", credentials: [UInt8(n), 0x7B])
        }
        try db.document(.tool, "t4", org: "org_a")  // no secret
        try db.phoneNumber("p4", org: "org_a", number: "+15550004")  // no credentials
        let tools = try db.resources.sealedValues(.toolSecrets, after: nil, through: nil, limit: 2)
        #expect(tools == [SealedValue(id: "t1", sealed: [1, 0, 0xFF]), SealedValue(id: "t2", sealed: [2, 0, 0xFF])])
        #expect(try db.resources.sealedValues(.toolSecrets, after: "t2", through: nil, limit: 2).map(\.id) == ["t3"])
        #expect(try db.resources.sealedValues(.toolSecrets, after: "t3", through: nil, limit: 2).isEmpty)
        let numbers = try db.resources.sealedValues(.phoneNumbers, after: nil, through: nil, limit: 10)
        #expect(numbers.map(\.id) == ["p1", "p2", "p3"])
        #expect(numbers[1].sealed == [2, 0x7B])
        #expect(try db.resources.sealedValues(.phoneNumbers, after: "p1", through: "p2", limit: 10).map(\.id) == ["p2"])
        #expect(try db.resources.sealedValues(.phoneNumbers, after: nil, through: "p2", limit: 10).map(\.id) == ["p1", "p2"])
    }

    @Test(arguments: StoreKind.tested)
    func aSealedValueIsReplacedOnlyWhereItIsStillTheOneRead(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        let tool = try db.document(.tool, "t1", org: "org_a", secret: [1, 1])
        try db.document(.tool, "t2", org: "org_a", secret: [2, 2])
        try db.phoneNumber("p1", org: "org_a", number: "+15550001", credentials: [3, 3])
        // The server changes t1's secret after it was read: the stale swap leaves the server's value.
        try db.resources.updateDocument(.tool, tool, secret: .set([9, 9]), completing: nil)
        let replaced = try db.resources.replaceSealedValues(.toolSecrets, [
            SealedChange(id: "t1", old: [1, 1], new: [1, 1, 1]),
            SealedChange(id: "t2", old: [2, 2], new: [2, 2, 2]),
            SealedChange(id: "gone", old: [0], new: [0, 0]),
        ])
        #expect(replaced == ["t2"])
        #expect(try db.resources.toolSecret(toolId: "t1") == [9, 9])
        #expect(try db.resources.toolSecret(toolId: "t2") == [2, 2, 2])
        #expect(try db.resources.replaceSealedValues(.phoneNumbers, [SealedChange(id: "p1", old: [3, 3], new: [4])]) == ["p1"])
        // The credential is the same one sealed anew: the number's version (its ETag) and dates stay.
        let number = try #require(try db.resources.phoneNumber(orgId: "org_a", id: "p1"))
        #expect(number.credentials == [4])
        #expect(number.version == 1)
        #expect(number.updatedAt == Timestamp.format(t0))
        #expect(try db.resources.document(.tool, orgId: "org_a", id: "t2")?.version == 1)
        #expect(try db.resources.replaceSealedValues(.phoneNumbers, []) == [])
    }
}
