import EdmoCore
import EdmoStore
import Foundation

/// Who acted, and in which organisation: a signed-in user, an analytics key, the command line, the server.
public struct AuditActor: Sendable, Equatable {
    public var kind: AuditActorKind
    public var id: String?
    /// What a person reads in the log: an email, a key's prefix, the shell user.
    public var label: String?
    /// The organisation the entry belongs to (and whose ADMINs read it).
    public var orgId: String?

    public init(kind: AuditActorKind, id: String? = nil, label: String? = nil, orgId: String?) {
        self.kind = kind
        self.id = id
        self.label = label
        self.orgId = orgId
    }

    public static func user(_ user: UserRecord) -> AuditActor {
        AuditActor(kind: .user, id: user.id, label: user.email, orgId: user.orgId)
    }

    /// Never the key itself: its id and the prefix shown in the key list.
    public static func analyticsKey(_ key: AnalyticsKey) -> AuditActor {
        AuditActor(kind: .analyticsKey, id: key.id, label: key.prefix, orgId: key.orgId)
    }

    /// An `edmo` command run in a shell; `label` names the shell user.
    public static func cli(orgId: String?, label: String?) -> AuditActor {
        AuditActor(kind: .cli, label: label, orgId: orgId)
    }

    public static func system(orgId: String?) -> AuditActor { AuditActor(kind: .system, label: "edmo", orgId: orgId) }
}

/// What was changed: a type (`assistant`, `user`, `phone_number`, ...) and its id.
public struct AuditTarget: Sendable, Equatable {
    public var type: String
    public var id: String?

    public init(_ type: String, _ id: String?) {
        self.type = type
        self.id = id
    }
}

/// Who acts for a request and from which address: what a service needs to record the changes it makes.
public struct AuditOrigin: Sendable {
    public var actor: AuditActor
    /// REMOTE_ADDR as nginx passed it; nil outside a request.
    public var address: String?

    public init(actor: AuditActor, address: String?) {
        self.actor = actor
        self.address = address
    }
}

/// The change was made, but its audit entry could not be written: the client must not hear "done", nor
/// "nothing was saved" (ErrorResponder says which).
public struct AuditNotRecorded: Error, CustomStringConvertible {
    public let action: String
    public let underlying: Error
    public var storageFull: Bool {
        if case StoreError.storageFull? = underlying as? StoreError { return true }
        return false
    }
    public var description: String { "the audit entry of \(action) was not written: \(underlying)" }
}

/// The one way into the audit log. Either bind the entry to the store call that makes the change
/// (`record(..., during:)`: one transaction for both), or call `record` once a change has committed and
/// before answering (its own transaction, for changes made of several store writes). Either way the entry is
/// durable before the client hears of the change (see README "Audit log"). Changes are field name ->
/// `{"old": ..., "new": ...}`; `changes(from:to:)` builds them from two JSON objects. Whatever the caller
/// passes, values of secret-looking fields (`secret`, `password`, `...token`, `...apiKey`, `credentials`, ...)
/// are stored as "[redacted]", never in the clear.
public enum AuditTrail {
    public static let redacted = JSONValue.string("[redacted]")
    /// Entries one retention batch removes: one short transaction each.
    public static let pruneBatch = 500
    /// Batches per retention turn (one a minute); a larger backlog goes on at the next turn.
    public static let pruneBatchesPerTurn = 100

    @discardableResult
    public static func record(
        _ context: AppContext, actor: AuditActor, address: String?, action: String, target: AuditTarget?,
        changes: [String: JSONValue] = [:]
    ) throws -> AuditEntry {
        let entry = try entry(context, actor: actor, address: address, action: action, target: target, changes: changes)
        try append(context, entry)
        return entry
    }

    /// Runs `change`, the one store call that makes the change, with the entry bound to it
    /// (`PendingAuditEntry`): the store writes the entry in the change's own transaction. Bind it around that
    /// call only, computing `changes` before it. When `change` made no write that took the entry (it
    /// throws, and then nothing is recorded, or it wrote nothing), the entry is appended on its own as `record` does.
    @discardableResult
    public static func record<T>(
        _ context: AppContext, _ origin: AuditOrigin, action: String, target: AuditTarget?, changes: [String: JSONValue] = [:],
        during change: () throws -> T
    ) throws -> T {
        let pending = PendingAuditEntry(
            try entry(context, actor: origin.actor, address: origin.address, action: action, target: target, changes: changes))
        let value = try PendingAuditEntry.$current.withValue(pending) { try change() }
        if !pending.isWritten { try append(context, pending.entry) }
        return value
    }

    static func entry(
        _ context: AppContext, actor: AuditActor, address: String?, action: String, target: AuditTarget?, changes: [String: JSONValue]
    ) throws -> AuditEntry {
        AuditEntry(
            id: context.ids.next("aud"), orgId: actor.orgId, at: Timestamp.format(context.now), actorKind: actor.kind,
            actorId: actor.id, actorLabel: actor.label, address: address, action: action, targetType: target?.type,
            targetId: target?.id, changes: try text(redacting(changes)))
    }

    static func append(_ context: AppContext, _ entry: AuditEntry) throws {
        do {
            try context.audit.append(entry)
        } catch {
            throw AuditNotRecorded(action: entry.action, underlying: error)
        }
    }

    @discardableResult
    public static func record(
        _ context: AppContext, _ origin: AuditOrigin, action: String, target: AuditTarget?, changes: [String: JSONValue] = [:]
    ) throws -> AuditEntry {
        try record(context, actor: origin.actor, address: origin.address, action: action, target: target, changes: changes)
    }

    // MARK: changes

    /// Field-level changes from `old` to `new` (JSON objects; nil for a creation or a deletion): nested
    /// objects are walked (`model.temperature`), arrays and scalars compared whole, top-level fields in
    /// `ignoring` left out. A field only in `new` has no "old", one only in `old` no "new".
    public static func changes(from old: JSONValue?, to new: JSONValue?, ignoring: Set<String> = []) -> [String: JSONValue] {
        var before: [String: JSONValue] = [:], after: [String: JSONValue] = [:]
        if let old { flatten(old, path: "", ignoring: ignoring, into: &before) }
        if let new { flatten(new, path: "", ignoring: ignoring, into: &after) }
        var out: [String: JSONValue] = [:]
        for key in Set(before.keys).union(after.keys) where before[key] != after[key] {
            var change: [String: JSONValue] = [:]
            change["old"] = before[key]
            change["new"] = after[key]
            out[key] = .object(change)
        }
        return out
    }

    /// The fields of an encodable value (a record as the API shows it) without `ignoring`.
    public static func fields<T: Encodable>(_ value: T, ignoring: Set<String> = []) throws -> JSONValue {
        var object = try JSONValue(encoding: value).objectValue ?? [:]
        for key in ignoring { object.removeValue(forKey: key) }
        return .object(object)
    }

    /// A secret's change without its value: "[redacted]" where it is set, null where it is not.
    public static func secretChange(old: Bool?, new: Bool?) -> JSONValue {
        var change: [String: JSONValue] = [:]
        if let old { change["old"] = old ? redacted : .null }
        if let new { change["new"] = new ? redacted : .null }
        return .object(change)
    }

    static func flatten(_ value: JSONValue, path: String, ignoring: Set<String>, into out: inout [String: JSONValue]) {
        guard case .object(let fields) = value, !fields.isEmpty || path.isEmpty else {
            out[path] = value
            return
        }
        for (key, field) in fields where !(path.isEmpty && ignoring.contains(key)) {
            flatten(field, path: path.isEmpty ? key : path + "." + key, ignoring: ignoring, into: &out)
        }
    }

    // MARK: secrets

    /// Suffixes of field names whose values are never stored (compared lowercased, without `_` and `-`):
    /// `secret`, `apiSecret`, `password`, `token`, `authToken` (but not `maxTokens`), `apiKey`, `X-Api-Key`,
    /// `credentials`, `Authorization`, `privateKey`.
    static let secretSuffixes = [
        "secret", "password", "passphrase", "token", "apikey", "credential", "credentials", "authorization", "privatekey",
    ].map { Array($0.utf8) }

    /// Whether any segment of a dotted path names a secret. On the bytes, without a String per segment:
    /// every field of every audited change is asked.
    public static func isSecret(_ path: String) -> Bool {
        var name: [UInt8] = []
        name.reserveCapacity(32)
        func named() -> Bool { secretSuffixes.contains { name.count >= $0.count && name.suffix($0.count).elementsEqual($0) } }
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "."):
                if named() { return true }
                name.removeAll(keepingCapacity: true)
            case UInt8(ascii: "_"), UInt8(ascii: "-"): continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): name.append(byte + 32)
            default: name.append(byte)
            }
        }
        return named()
    }

    /// `changes` with every secret value replaced: whole changes of secret fields, and secret fields
    /// inside other values (an array of objects, an object stored whole).
    static func redacting(_ changes: [String: JSONValue]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (field, change) in changes {
            out[field] = isSecret(field) ? hidden(change) : redactingInside(change, depth: 0)
        }
        return out
    }

    /// A change of a secret field: its "old" and "new" kept only as set ("[redacted]") or not (null).
    static func hidden(_ change: JSONValue) -> JSONValue {
        guard case .object(let sides) = change else { return change == .null ? .null : redacted }
        return .object(sides.mapValues { $0 == .null ? .null : redacted })
    }

    static func redactingInside(_ value: JSONValue, depth: Int) -> JSONValue {
        switch value {
        case .object(let fields):
            // Depth 0 is the change itself ({"old", "new"}), whose keys are not field names.
            return .object(Dictionary(uniqueKeysWithValues: fields.map { key, field in
                (key, depth > 0 && isSecret(key) ? (field == .null ? .null : redacted) : redactingInside(field, depth: depth + 1))
            }))
        case .array(let items):
            return .array(items.map { redactingInside($0, depth: depth + 1) })
        default:
            return value
        }
    }

    static func text(_ changes: [String: JSONValue]) throws -> String {
        String(decoding: try JSON.encode(JSONValue.object(changes)), as: UTF8.self)
    }

    // MARK: retention

    /// Removes entries older than `EDMO_AUDIT_RETENTION_DAYS` (0 keeps them all), oldest first, in batches of
    /// `pruneBatch`, each its own short transaction. `edmo serve` runs it every minute; with several hosts on
    /// one database each turn is claimed, so one host prunes.
    public static func prune(_ context: AppContext) {
        let days = context.config.auditRetentionDays
        guard days > 0 else { return }
        do {
            guard try context.resources.claimJob("audit-retention", every: 50, now: context.now) else { return }
            let cutoff = context.now.addingTimeInterval(-TimeInterval(days) * 86_400)
            var removed = 0
            for _ in 0..<pruneBatchesPerTurn {
                let count = try context.audit.prune(before: cutoff, limit: pruneBatch)
                removed += count
                if count < pruneBatch { break }
            }
            if removed > 0 { context.log.info("audit log: removed \(removed) entries older than \(days) days") }
        } catch {
            context.log.error("pruning the audit log failed: \(error)")
        }
    }
}
