import EdmoCore
import EdmoStore
import Foundation
import Testing

/// AuditStore's contract, the same assertions on every store: appends read back newest first, the filters,
/// both kinds of paging, retention in batches, and an UPDATE refused by the schema itself.
struct StoreContractAuditTests {
    static func at(_ second: Int) -> String { Timestamp.format(t0.addingTimeInterval(TimeInterval(second))) }

    static func entry(
        _ id: String, org: String? = "org_a", second: Int, actor: String = "usr_1", action: String = "assistant.update",
        target: (String, String?)? = ("assistant", "asst_1"), changes: String = #"{"name":{"new":"B","old":"A"}}"#
    ) -> AuditEntry {
        AuditEntry(
            id: id, orgId: org, at: at(second), actorKind: .user, actorId: actor, actorLabel: "\(actor)@example.edu",
            address: "192.0.2.7", action: action, targetType: target?.0, targetId: target?.1, changes: changes)
    }

    /// org_a: six entries over ten seconds, two in the same millisecond; org_b and no organisation: one each.
    static func filled(_ kind: StoreKind) throws -> ContractDatabase {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        for e in [
            entry("aud_1", second: 1, action: "auth.login", target: ("user", "usr_1"), changes: "{}"),
            entry("aud_2", second: 2, action: "assistant.create"),
            entry("aud_3", second: 5, actor: "usr_2", action: "tool.update", target: ("tool", "tool_1")),
            entry("aud_5", second: 7),
            entry("aud_4", second: 7, actor: "usr_2", action: "assistant.delete"),
            entry("aud_6", second: 10, action: "user.update", target: ("user", "usr_2")),
            entry("aud_b", org: "org_b", second: 3),
            entry("aud_n", org: nil, second: 4, action: "auth.login_failed", target: ("user", nil)),
        ] {
            try db.audit.append(e)
        }
        return db
    }

    static func ids(_ entries: [AuditEntry]) -> [String] { entries.map(\.id) }

    @Test(arguments: StoreKind.tested)
    func appendedEntriesReadBackNewestFirstWithTheirTotal(_ kind: StoreKind) throws {
        let db = try Self.filled(kind)
        let all = try db.audit.entries(AuditFilter(orgId: "org_a"), limit: 100, offset: 0)
        // Same time: the larger id first.
        #expect(Self.ids(all.items) == ["aud_6", "aud_5", "aud_4", "aud_3", "aud_2", "aud_1"])
        #expect(all.total == 6)
        #expect(all.items[3] == Self.entry("aud_3", second: 5, actor: "usr_2", action: "tool.update", target: ("tool", "tool_1")))
        let page = try db.audit.entries(AuditFilter(orgId: "org_a"), limit: 2, offset: 2)
        #expect(Self.ids(page.items) == ["aud_4", "aud_3"] && page.total == 6)
        #expect(try db.audit.entries(AuditFilter(orgId: "org_a"), limit: 10, offset: 6).items.isEmpty)
        // Another organisation's entries, and those of none, are never part of a reading.
        #expect(Self.ids(try db.audit.entries(AuditFilter(orgId: "org_b"), limit: 100, offset: 0).items) == ["aud_b"])
        #expect(try db.audit.entries(AuditFilter(orgId: "org_c"), limit: 100, offset: 0).total == 0)
        #expect(try db.rows(in: "audit_log") == 8)
        // An id is written once.
        #expect(throws: (any Error).self) { try db.audit.append(Self.entry("aud_1", second: 11)) }
        #expect(try db.rows(in: "audit_log") == 8)
    }

    /// An entry bound to a write (`PendingAuditEntry`) commits with that write: not at all when the write
    /// fails (and a retry carries it), once when it succeeds, not again for a later write of the same
    /// binding; an entry that cannot be written takes the change down with it.
    @Test(arguments: StoreKind.tested)
    func anEntryBoundToAWriteCommitsWithItOrNotAtAll(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        var record = try db.document(.assistant, "a1", org: "org_a")
        let pending = PendingAuditEntry(Self.entry("aud_1", second: 1))
        try PendingAuditEntry.$current.withValue(pending) {
            var stale = record
            stale.version = 7
            #expect(throws: StoreError.stale) { try db.resources.updateDocument(.assistant, stale, secret: .keep, completing: nil) }
            #expect(!pending.isWritten && PendingAuditEntry.unwritten === pending)
            #expect(try db.rows(in: "audit_log") == 0)
            record.body = #"{"v":2}"#
            record.version = try db.resources.updateDocument(.assistant, record, secret: .keep, completing: nil)
            #expect(pending.isWritten && PendingAuditEntry.unwritten == nil)
            record.version = try db.resources.updateDocument(.assistant, record, secret: .keep, completing: nil)
        }
        #expect(record.version == 3)
        #expect(try db.audit.entries(AuditFilter(orgId: "org_a"), limit: 10, offset: 0).items == [Self.entry("aud_1", second: 1)])
        // The same id again: the entry's insert fails, and the change it was bound to is not kept.
        PendingAuditEntry.$current.withValue(PendingAuditEntry(Self.entry("aud_1", second: 2))) {
            #expect(throws: (any Error).self) { try db.resources.deleteDocument(.assistant, orgId: "org_a", id: "a1", version: nil, completing: nil) }
        }
        #expect(try db.resources.document(.assistant, orgId: "org_a", id: "a1")?.version == 3)
        #expect(try db.rows(in: "audit_log") == 1)
    }

    @Test(arguments: StoreKind.tested)
    func everyFilterNarrowsTheReading(_ kind: StoreKind) throws {
        let db = try Self.filled(kind)
        func read(_ change: (inout AuditFilter) -> Void) throws -> [String] {
            var filter = AuditFilter(orgId: "org_a")
            change(&filter)
            let result = try db.audit.entries(filter, limit: 100, offset: 0)
            #expect(result.total == result.items.count)
            return Self.ids(result.items)
        }
        #expect(try read { $0.actor = "usr_2" } == ["aud_4", "aud_3"])
        #expect(try read { $0.actor = "usr_2@example.edu" } == ["aud_4", "aud_3"])
        #expect(try read { $0.action = "assistant.update" } == ["aud_5"])
        #expect(try read { $0.actionPrefix = "assistant." } == ["aud_5", "aud_4", "aud_2"])
        #expect(try read { $0.actionPrefix = "assistant.c" } == ["aud_2"])
        #expect(try read { $0.targetType = "user" } == ["aud_6", "aud_1"])
        #expect(try read { $0.targetId = "tool_1" } == ["aud_3"])
        #expect(try read { $0.from = Self.at(5) } == ["aud_6", "aud_5", "aud_4", "aud_3"])
        #expect(try read { $0.before = Self.at(5) } == ["aud_2", "aud_1"])
        #expect(try read { $0.from = Self.at(2); $0.before = Self.at(7); $0.actor = "usr_1" } == ["aud_2"])
        #expect(try read { $0.action = "nothing.like.this" } == [])
    }

    @Test(arguments: StoreKind.tested)
    func keysetPagesReadEveryEntryOnceNewestFirst(_ kind: StoreKind) throws {
        let db = try Self.filled(kind)
        var read: [String] = []
        var cursor: AuditCursor?
        while true {
            let page = try db.audit.entries(AuditFilter(orgId: "org_a"), after: cursor, limit: 2)
            read += Self.ids(page)
            guard page.count == 2, let last = page.last else { break }
            cursor = AuditCursor(after: last)
        }
        #expect(read == ["aud_6", "aud_5", "aud_4", "aud_3", "aud_2", "aud_1"])
        var filter = AuditFilter(orgId: "org_a")
        filter.actor = "usr_1"
        #expect(Self.ids(try db.audit.entries(filter, after: AuditCursor(at: Self.at(7), id: "aud_5"), limit: 10)) == ["aud_2", "aud_1"])
    }

    @Test(arguments: StoreKind.tested)
    func retentionDeletesTheOldestInBatchesAcrossOrganisations(_ kind: StoreKind) throws {
        let db = try Self.filled(kind)
        let cutoff = t0.addingTimeInterval(7)
        #expect(try db.audit.prune(before: cutoff, limit: 2) == 2)  // aud_1, aud_2
        #expect(try db.audit.prune(before: cutoff, limit: 2) == 2)  // aud_b, aud_n
        #expect(try db.audit.prune(before: cutoff, limit: 2) == 1)  // aud_3
        #expect(try db.audit.prune(before: cutoff, limit: 2) == 0)
        #expect(Self.ids(try db.audit.entries(AuditFilter(orgId: "org_a"), limit: 100, offset: 0).items) == ["aud_6", "aud_5", "aud_4"])
        #expect(try db.audit.entries(AuditFilter(orgId: "org_b"), limit: 100, offset: 0).total == 0)
        #expect(try db.rows(in: "audit_log") == 3)
    }

    @Test(arguments: StoreKind.tested)
    func theSchemaRefusesToChangeAnEntry(_ kind: StoreKind) throws {
        let db = try Self.filled(kind)
        for sql in [
            "UPDATE audit_log SET action = 'nothing.happened' WHERE id = 'aud_3'",
            "UPDATE audit_log SET changes = '{}'",
            "UPDATE audit_log SET actor_id = NULL, actor_label = NULL WHERE org_id = 'org_a'",
        ] {
            #expect(throws: (any Error).self, "\(sql)") { try db.execute(sql) }
        }
        if kind == .postgres {
            #expect(throws: (any Error).self) { try db.execute("TRUNCATE audit_log") }
        }
        let all = try db.audit.entries(AuditFilter(orgId: "org_a"), limit: 100, offset: 0).items
        #expect(all.count == 6)
        #expect(all.first { $0.id == "aud_3" } == Self.entry("aud_3", second: 5, actor: "usr_2", action: "tool.update", target: ("tool", "tool_1")))
        #expect(try db.rows(in: "audit_log") == 8)
    }

    @Test(arguments: StoreKind.tested)
    func concurrentAppendsAreAllKept(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        let outcomes = Outcomes()
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            outcomes.record { try db.audit.append(Self.entry(String(format: "aud_%03d", i), second: i)) }
        }
        #expect(outcomes["ok"] == 40)
        #expect(try db.audit.entries(AuditFilter(orgId: "org_a"), limit: 100, offset: 0).total == 40)
    }

    /// What an entry costs, printed for the README (no timed assertion): appends one after another (each its
    /// own durable commit), then the same number from 16 threads at once, which share commits.
    @Test(arguments: StoreKind.tested)
    func whatAnAppendCosts(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        let count = 400, threads = 16
        var started = ContinuousClock.now
        for i in 0..<count { try db.audit.append(Self.entry(String(format: "aud_s%04d", i), second: i)) }
        let alone = (ContinuousClock.now - started) / count
        let outcomes = Outcomes()
        started = ContinuousClock.now
        try runNumberedThreads(threads) { n in
            for i in 0..<(count / threads) {
                outcomes.record { try db.audit.append(Self.entry(String(format: "aud_t%02d_%04d", n, i), second: i)) }
            }
        }
        let together = (ContinuousClock.now - started) / count
        print("audit append on \(kind): \(alone) each one after another, \(together) each from \(threads) threads at once")
        #expect(outcomes["ok"] == count)
        #expect(try db.rows(in: "audit_log") == 2 * count)
    }
}
