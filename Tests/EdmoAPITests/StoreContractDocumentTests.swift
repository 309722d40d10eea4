import EdmoCore
import EdmoStore
import Foundation
import Testing

/// ResourceStore's contract for assistants and tools (documents, tool secrets, the provider journal
/// completed with a write), the same assertions on every store.
struct StoreContractDocumentTests {
    @Test(arguments: StoreKind.tested, [DocumentKind.assistant, .tool])
    func documentsPageNewestFirstWithTheOrganizationsTotal(_ kind: StoreKind, _ document: DocumentKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        for (id, second) in [("d1", 1), ("d2", 2), ("d4", 2), ("d3", 3)] { try db.document(document, id, org: "org_a", second: second) }
        try db.document(document, "d9", org: "org_b", second: 9)
        let other: DocumentKind = document == .assistant ? .tool : .assistant
        try db.document(other, "x1", org: "org_a", second: 9)
        func page(_ limit: Int, _ offset: Int) throws -> ([String], Int) {
            let result = try db.resources.documents(document, orgId: "org_a", limit: limit, offset: offset)
            return (result.bodies, result.total)
        }
        let bodies = ["d3", "d4", "d2", "d1"].map { #"{"id":"\#($0)"}"# }
        #expect(try page(100, 0) == (bodies, 4))
        #expect(try page(2, 1) == (Array(bodies[1...2]), 4))
        #expect(try page(2, 4) == ([], 4))
        #expect(try db.resources.documents(document, orgId: "org_none", limit: 10, offset: 0).total == 0)
    }

    @Test(arguments: StoreKind.tested)
    func aDocumentIsFoundByLocalIdFirstThenByProviderIdInItsOrganization(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        let first = try db.document(.assistant, "a1", org: "org_a", providerId: "vapi-1", second: 1)
        // Its provider id is another assistant's local id: that one wins the lookup by that id.
        let second = try db.document(.assistant, "a2", org: "org_a", providerId: "a1", second: 2)
        #expect(try db.resources.document(.assistant, orgId: "org_a", id: "a1") == first)
        #expect(try db.resources.document(.assistant, orgId: "org_a", id: "vapi-1") == first)
        #expect(try db.resources.document(.assistant, orgId: "org_a", id: "a2") == second)
        #expect(try db.resources.document(.assistant, orgId: "org_b", id: "a1") == nil)
        #expect(try db.resources.document(.tool, orgId: "org_a", id: "a1") == nil)
        #expect(throws: (any Error).self) { try db.document(.assistant, "a1", org: "org_a") }
    }

    /// `changeDocument` reads the row inside its write: 16 threads each add their mark to one tool's body and
    /// every mark is kept, the version raised once per change; the change gets the row by provider id too,
    /// and the tool's sealed secret; one that throws leaves the row as it was; its audit entry commits with it.
    @Test(arguments: StoreKind.tested)
    func aChangeReadsAndWritesTheRowInOneWriteSoNoneIsLost(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        try db.document(.tool, "t1", org: "org_a", providerId: "vapi-t1", secret: [1, 2, 3])
        let failures = PlainLock<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            do {
                let written = try db.resources.changeDocument(.tool, orgId: "org_a", id: i % 2 == 0 ? "t1" : "vapi-t1") { current, secret in
                    if secret != [1, 2, 3] { failures.withLock { $0.append("secret \(String(describing: secret))") } }
                    var record = current
                    record.body = current.body + " \(i)"
                    return DocumentChange(record: record)
                }
                if !written.body.hasSuffix(" \(i)") { failures.withLock { $0.append("answered \(written.body)") } }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let row = try #require(try db.resources.document(.tool, orgId: "org_a", id: "t1"))
        #expect(row.version == 17)
        let marks: Set<String> = Set(row.body.split(separator: " ").dropFirst().map(String.init))
        let expected: Set<String> = Set((0..<16).map { String($0) })
        #expect(marks == expected)
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try db.resources.changeDocument(.tool, orgId: "org_a", id: "t1") { _, _ in throw Refused() }
        }
        #expect(try db.resources.document(.tool, orgId: "org_a", id: "t1") == row)
        let entry = AuditEntry(id: "aud_c", orgId: "org_a", at: row.updatedAt, actorKind: .user, action: "tool.update")
        let changed = try db.resources.changeDocument(.tool, orgId: "org_a", id: "t1") { current, _ in
            DocumentChange(record: current, secret: .clear, audit: entry)
        }
        #expect(changed.version == 18 && changed.id == "t1")
        #expect(try db.resources.toolSecret(toolId: "t1") == nil)
        #expect(try db.audit.entries(AuditFilter(orgId: "org_a"), limit: 10, offset: 0).items == [entry])
        #expect(throws: StoreError.notFound("Tool")) {
            try db.resources.changeDocument(.tool, orgId: "org_a", id: "t9") { current, _ in DocumentChange(record: current) }
        }
    }

    @Test(arguments: StoreKind.tested)
    func updatesAndDeletesAreConditionalOnTheVersionRead(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        var record = try db.document(.assistant, "a1", org: "org_a")
        (record.body, record.providerId, record.updatedAt) = (#"{"v":2}"#, "vapi-1", Timestamp.format(t0.addingTimeInterval(5)))
        #expect(try db.resources.updateDocument(.assistant, record, secret: .keep, completing: nil) == 2)
        var expected = record
        expected.version = 2
        #expect(try db.resources.document(.assistant, orgId: "org_a", id: "a1") == expected)
        // The version read is 1, the row's 2: another writer got there first.
        #expect(throws: StoreError.stale) { try db.resources.updateDocument(.assistant, record, secret: .keep, completing: nil) }
        var gone = record
        gone.id = "a9"
        #expect(throws: StoreError.notFound("Assistant")) { try db.resources.updateDocument(.assistant, gone, secret: .keep, completing: nil) }
        #expect(throws: StoreError.notFound("Tool")) { try db.resources.updateDocument(.tool, expected, secret: .keep, completing: nil) }
        // Another organisation's row is not changed; both stores look for it by id alone, so say stale.
        var foreign = expected
        foreign.orgId = "org_b"
        #expect(throws: StoreError.stale) { try db.resources.updateDocument(.assistant, foreign, secret: .keep, completing: nil) }
        #expect(throws: StoreError.stale) { try db.resources.deleteDocument(.assistant, orgId: "org_b", id: "a1", version: nil, completing: nil) }

        #expect(throws: StoreError.stale) { try db.resources.deleteDocument(.assistant, orgId: "org_a", id: "a1", version: 1, completing: nil) }
        try db.resources.deleteDocument(.assistant, orgId: "org_a", id: "a1", version: 2, completing: nil)
        #expect(throws: StoreError.notFound("Assistant")) {
            try db.resources.deleteDocument(.assistant, orgId: "org_a", id: "a1", version: nil, completing: nil)
        }
        try db.document(.tool, "t1", org: "org_a")
        try db.resources.deleteDocument(.tool, orgId: "org_a", id: "t1", version: nil, completing: nil)
        #expect(try db.resources.documents(.tool, orgId: "org_a", limit: 10, offset: 0).total == 0)
    }

    @Test(arguments: StoreKind.tested)
    func aToolsSecretIsKeptSetOrClearedWithItsUpdateAndGoesWithIt(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        let sealed: [UInt8] = [0, 1, 0xFF, 0x5C, 0x78, 0]
        var tool = try db.document(.tool, "t1", org: "org_a", secret: sealed)
        try db.document(.tool, "t2", org: "org_a")
        #expect(try db.resources.toolSecret(toolId: "t1") == sealed)
        #expect(try db.resources.toolSecret(toolId: "t2") == nil)
        tool.version = try db.resources.updateDocument(.tool, tool, secret: .keep, completing: nil)
        #expect(try db.resources.toolSecret(toolId: "t1") == sealed)
        tool.version = try db.resources.updateDocument(.tool, tool, secret: .set([9, 9]), completing: nil)
        #expect(try db.resources.toolSecret(toolId: "t1") == [9, 9])
        tool.version = try db.resources.updateDocument(.tool, tool, secret: .clear, completing: nil)
        #expect(try db.resources.toolSecret(toolId: "t1") == nil)
        tool.version = try db.resources.updateDocument(.tool, tool, secret: .set([]), completing: nil)
        #expect(try db.resources.toolSecret(toolId: "t1") == [])
        try db.resources.deleteDocument(.tool, orgId: "org_a", id: "t1", version: nil, completing: nil)
        #expect(try db.rows(in: "tool_secrets") == 0)
    }

    @Test(arguments: StoreKind.tested)
    func aWriteCompletesItsProviderOperationOnlyWhenItCommits(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        for (id, second) in [("op1", 1), ("op2", 2), ("op3", 3), ("op4", 4)] { try db.operation(id, org: "org_a", second: second) }
        func pending() throws -> [String] { try db.resources.pendingOperations().map(\.id) }
        var record = try db.document(.assistant, "a1", org: "org_a", completing: "op1")
        #expect(try pending() == ["op2", "op3", "op4"])
        // A stale update changes nothing, the journal included: the provider call is still unreconciled.
        var stale = record
        stale.version = 5
        #expect(throws: StoreError.stale) { try db.resources.updateDocument(.assistant, stale, secret: .keep, completing: "op2") }
        #expect(try pending() == ["op2", "op3", "op4"])
        record.version = try db.resources.updateDocument(.assistant, record, secret: .keep, completing: "op2")
        #expect(throws: (any Error).self) { try db.document(.assistant, "a1", org: "org_a", completing: "op3") }
        #expect(try pending() == ["op3", "op4"])
        try db.resources.deleteDocument(.assistant, orgId: "org_a", id: "a1", version: record.version, completing: "op3")
        try db.phoneNumber("p1", org: "org_a", number: "+1", completing: "op4")
        #expect(try pending().isEmpty)
    }
}
