import Foundation
import Synchronization

/// Who made a change: a signed-in user, an analytics key, the `edmo` command line, or the server itself.
public enum AuditActorKind: String, Sendable, CaseIterable {
    case user, analyticsKey = "analytics_key", cli, system
}

/// One entry of the audit log, as stored. Dates are `Timestamp` text, as everywhere in the stores.
public struct AuditEntry: Sendable, Equatable {
    public var id: String
    /// nil only for a failed login naming no user's email when the deployment has several organisations.
    public var orgId: String?
    public var at: String
    public var actorKind: AuditActorKind
    public var actorId: String?
    /// What a person reads: the user's email, the key's prefix, the shell user of a CLI command.
    public var actorLabel: String?
    /// The client address (REMOTE_ADDR as nginx passes it); nil for the CLI and the system.
    public var address: String?
    /// `<target type>.<verb>`: `assistant.update`, `auth.login_failed`, ...
    public var action: String
    public var targetType: String?
    public var targetId: String?
    /// A JSON object, field name -> `{"old": ..., "new": ...}`, secrets already replaced by "[redacted]".
    public var changes: String

    public init(
        id: String, orgId: String?, at: String, actorKind: AuditActorKind, actorId: String? = nil,
        actorLabel: String? = nil, address: String? = nil, action: String, targetType: String? = nil,
        targetId: String? = nil, changes: String = "{}"
    ) {
        self.id = id
        self.orgId = orgId
        self.at = at
        self.actorKind = actorKind
        self.actorId = actorId
        self.actorLabel = actorLabel
        self.address = address
        self.action = action
        self.targetType = targetType
        self.targetId = targetId
        self.changes = changes
    }
}

/// What to read of one organisation's log. Every field but `orgId` is optional; set ones must all match.
public struct AuditFilter: Sendable, Equatable {
    public var orgId: String
    /// The actor's id or label (a user's id or email).
    public var actor: String?
    public var action: String?
    /// Matches every action starting with it (`assistant.` for every change of assistants).
    public var actionPrefix: String?
    public var targetType: String?
    public var targetId: String?
    /// `at >= from`.
    public var from: String?
    /// `at < before`.
    public var before: String?

    public init(orgId: String) { self.orgId = orgId }
}

/// Where a keyset page ends: the last entry read (pages go newest first).
public struct AuditCursor: Sendable, Equatable {
    public var at: String
    public var id: String

    public init(at: String, id: String) {
        self.at = at
        self.id = id
    }

    public init(after entry: AuditEntry) { self.init(at: entry.at, id: entry.id) }
}

/// The audit log: appended to, read newest first, and pruned by its own retention. There is no update and
/// no delete of one entry; the schema refuses an UPDATE too (a trigger on both stores).
public protocol AuditStore: Sendable {
    /// Durable when it returns (its own committed transaction; concurrent appends share one commit).
    func append(_ entry: AuditEntry) throws
    /// Newest first (`at`, then `id`, descending), with the number of matching entries.
    func entries(_ filter: AuditFilter, limit: Int, offset: Int) throws -> (items: [AuditEntry], total: Int)
    /// Newest first, the `limit` entries after `cursor` (from the newest when nil): the CSV export's pages.
    func entries(_ filter: AuditFilter, after cursor: AuditCursor?, limit: Int) throws -> [AuditEntry]
    /// Deletes at most `limit` of the oldest entries dated before `cutoff`, in one short transaction, and
    /// returns how many it deleted (fewer than `limit`: none older is left).
    func prune(before cutoff: Date, limit: Int) throws -> Int
}

/// An audit entry that goes into the transaction of the next store write made on this thread, so that the
/// change and its entry commit together: one commit per write instead of two, and no crash between them.
/// `AuditTrail.record(..., during:)` binds it around exactly the store call that makes the change; each
/// store's write funnel (`EdmoDatabase.write`, `PostgresDatabase.write`) inserts it after the write's own
/// statements and marks it written once that transaction has committed. A write that fails leaves it
/// unwritten (a retry carries it again); a second write of the same call finds it written and leaves it.
/// A task-local rather than a parameter of every write method of both stores: see README "Audit log".
public final class PendingAuditEntry: Sendable {
    public let entry: AuditEntry
    private let written = Atomic<Bool>(false)

    @TaskLocal public static var current: PendingAuditEntry?

    public init(_ entry: AuditEntry) { self.entry = entry }

    /// The entry a write starting now on this thread must carry: nil when none is bound or it is written.
    public static var unwritten: PendingAuditEntry? {
        guard let current, !current.isWritten else { return nil }
        return current
    }

    public var isWritten: Bool { written.load(ordering: .acquiring) }

    /// Called by a store once the transaction that inserted the entry has committed.
    public func markWritten() { written.store(true, ordering: .releasing) }
}
