import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Creates, changes and deletes assistants and tools (`Config` says which). The voice platform is written
/// first, journaled by `ProviderWrite`, which undoes it when the local write fails. The stored body, which
/// is also the response, is the typed configuration plus the server's fields, encoded once.
public struct DocumentService<Config: StoredConfig> {
    public let context: AppContext
    var kind: DocumentKind { Config.kind }

    public init(_ context: AppContext) { self.context = context }

    /// By local id or platform id, within the organisation.
    public func find(_ id: String, orgId: String) throws -> DocumentRecord {
        guard let record = try context.resources.document(kind, orgId: orgId, id: id) else {
            throw StoreError.notFound(kind.label)
        }
        return record
    }

    /// `origin` (who asks, from where) has the creation recorded in the audit log, in the same transaction.
    public func create(_ config: Config, orgId: String, by origin: AuditOrigin? = nil) throws -> DocumentRecord {
        try check(config)
        let id = context.ids.next(kind.idPrefix)
        let now = Timestamp.format(context.now)
        let secret = try config.secret.map { try context.seal(Array($0.utf8)) }
        var record = DocumentRecord(id: id, orgId: orgId, body: "", createdAt: now, updatedAt: now)
        try ProviderWrite(context: context).run(
            kind.operation, .create, orgId: orgId, localId: id,
            remote: { platform in
                try VoicePlatform.id(of: platform.create(kind.collection, try platformBody(config, id: id)))
            },
            local: { providerId, operation in
                record.providerId = providerId
                let stored = try stored(config, record)
                record.body = stored.body
                let event = kind == .assistant ? try OutboundEvents.assistant(context, EventType.assistantCreated, record) : nil
                var changes = audited(origin, from: nil, to: stored.tree)
                if config.secret != nil { changes["server.secret"] = AuditTrail.secretChange(old: nil, new: true) }
                try recording(origin, "create", record.id, changes) {
                    try context.resources.insertDocument(kind, record, secret: secret, completing: operation, event: event)
                }
            },
            compensate: { platform, providerId in try platform.delete(kind.collection, id: providerId) })
        return record
    }

    /// Merges `patch` into the stored configuration and writes it. Without a voice platform the whole
    /// read-merge-write runs inside one store write (`ResourceStore.changeDocument`): concurrent PATCHes of
    /// one resource apply one after the other on the row as it is, never lose each other's fields, and on
    /// SQLite share commits. With a platform the result goes there first, and the local write is
    /// conditional on the version read; a lost race runs all of it again on the newer row (`OptimisticWrite`).
    /// With `origin`, the fields that changed (old and new values, a secret only as "[redacted]") are recorded
    /// in the audit log, in the write's transaction; a patch that changed nothing records nothing.
    public func update(
        id: String, orgId: String, patch: [String: JSONValue], ifMatch: IfMatch?, by origin: AuditOrigin? = nil
    ) throws -> DocumentRecord {
        guard context.platform != nil else {
            return try context.resources.changeDocument(kind, orgId: orgId, id: id) { current, sealedSecret in
                try ifMatch?.check(current.version)
                let change = try merged(current, sealedSecret: sealedSecret, patch)
                let event = kind == .assistant ? try OutboundEvents.assistant(context, EventType.assistantUpdated, change.record) : nil
                let changes = updateChanges(origin, change)
                let audit = try origin.flatMap { origin in
                    changes.isEmpty ? nil : try AuditTrail.entry(
                        context, actor: origin.actor, address: origin.address, action: "\(kind.rawValue).update",
                        target: AuditTarget(kind.rawValue, current.id), changes: changes)
                }
                return DocumentChange(record: change.record, secret: change.secret, event: event, audit: audit)
            }
        }
        return try OptimisticWrite.run(context, key: "\(kind.rawValue)/\(orgId)/\(id)") {
            let before = try find(id, orgId: orgId)
            try ifMatch?.check(before.version)
            let change = try merged(before, sealedSecret: kind == .tool ? try context.resources.toolSecret(toolId: before.id) : nil, patch)
            var record = change.record
            try ProviderWrite(context: context).run(
                kind.operation, .update, orgId: orgId, localId: record.id,
                remote: { platform in
                    guard let providerId = record.providerId else { return }
                    _ = try platform.update(kind.collection, id: providerId, try platformBody(change.config, id: record.id))
                },
                local: { _, operation in
                    let event = kind == .assistant ? try OutboundEvents.assistant(context, EventType.assistantUpdated, record) : nil
                    let changes = updateChanges(origin, change)
                    record.version = try recording(origin, "update", record.id, changes) {
                        try context.resources.updateDocument(kind, record, secret: change.secret, completing: operation, event: event)
                    }
                },
                compensate: { platform, _ in
                    // Mirror what is stored now: another writer may have changed it since it was read.
                    guard let providerId = record.providerId else { return }
                    let current = try Document(platform: try find(record.id, orgId: orgId), kind, context)
                    _ = try platform.update(kind.collection, id: providerId, Document.tagged(current.config, id: record.id))
                })
            return record
        }
    }

    /// A merged update: the record with its new body and `updatedAt`, the configuration, what becomes of the
    /// secret, and both stored bodies as read and written (for the audit diff, with no second parse).
    struct Merge {
        var record: DocumentRecord
        var config: Config
        var secret: SecretChange
        var secrets: (old: String?, new: String?)
        var before: JSONValue
        var after: JSONValue
    }

    /// `patch` applied to what the client set (local fields included) plus the platform's secret; the merged
    /// whole is decoded once, to validate it and to encode the stored body from.
    func merged(_ record: DocumentRecord, sealedSecret: [UInt8]?, _ patch: [String: JSONValue]) throws -> Merge {
        let old = try Document(platform: record, kind, sealedSecret: sealedSecret, context)
        let stored = JSONValue.object(old.config.merging(old.local) { config, _ in config })
        let new = try Config.merge(stored, .object(patch)).decode(Config.self)
        try check(new)
        let secret: SecretChange = new.secret == old.secret ? .keep
            : try new.secret.map { .set(try context.seal(Array($0.utf8))) } ?? .clear
        var updated = record
        updated.updatedAt = Timestamp.format(context.now)
        let body = try self.stored(new, updated)
        updated.body = body.body
        return Merge(record: updated, config: new, secret: secret, secrets: (old.secret, new.secret), before: old.stored, after: body.tree)
    }

    /// The fields an update changed, for the audit log: a secret only as set or not.
    func updateChanges(_ origin: AuditOrigin?, _ change: Merge) -> [String: JSONValue] {
        var changes = audited(origin, from: change.before, to: change.after)
        if origin != nil, change.secrets.old != change.secrets.new {
            changes["server.secret"] = AuditTrail.secretChange(old: change.secrets.old != nil, new: change.secrets.new != nil)
        }
        return changes
    }

    /// An assistant's phone numbers are detached by the database (ON DELETE SET NULL).
    /// With `origin`, the deletion is recorded in the audit log with the fields the resource had, in the same
    /// transaction.
    public func delete(id: String, orgId: String, ifMatch: IfMatch?, by origin: AuditOrigin? = nil) throws {
        let record = try find(id, orgId: orgId)
        try ifMatch?.check(record.version)
        do {
            try ProviderWrite(context: context).run(
                kind.operation, .delete, orgId: orgId, localId: record.id,
                remote: { platform in
                    if let providerId = record.providerId { try platform.delete(kind.collection, id: providerId) }
                },
                local: { _, operation in
                    // Once the platform has deleted it, the local copy goes too (If-Match was checked above).
                    let platformDeleted = context.platform != nil && record.providerId != nil
                    let event = kind == .assistant
                        ? try OutboundEvents.assistant(context, EventType.assistantDeleted, record, deleted: true) : nil
                    let before = origin == nil ? nil : try JSONValue.parse(Array(record.body.utf8))
                    try recording(origin, "delete", record.id, audited(origin, from: before, to: nil)) {
                        try context.resources.deleteDocument(
                            kind, orgId: orgId, id: record.id,
                            version: platformDeleted ? nil : ifMatch?.deleteVersion(read: record.version), completing: operation,
                            event: event)
                    }
                })
        } catch StoreError.stale {
            throw VersionMismatch()  // only a conditional delete can be stale
        }
    }

    /// The fields that differ between two stored bodies (nil: created or deleted), without the server's;
    /// nothing when no one is to be recorded.
    func audited(_ origin: AuditOrigin?, from old: JSONValue?, to new: JSONValue?) -> [String: JSONValue] {
        guard origin != nil else { return [:] }
        return AuditTrail.changes(from: old, to: new, ignoring: Document.serverFields)
    }

    /// `write` with its audit entry in the same transaction; without `origin`, or for an update that changed
    /// nothing, `write` alone.
    func recording<T>(
        _ origin: AuditOrigin?, _ verb: String, _ id: String, _ changes: [String: JSONValue], _ write: () throws -> T
    ) throws -> T {
        guard let origin, verb != "update" || !changes.isEmpty else { return try write() }
        return try AuditTrail.record(
            context, origin, action: "\(kind.rawValue).\(verb)", target: AuditTarget(kind.rawValue, id), changes: changes, during: write)
    }

    func check(_ config: Config) throws {
        try config.validate()
        try config.checkURLs(allowPrivate: context.config.allowPrivateURLs)
    }

    /// As stored and returned: without the secret, with the server's fields; the tree too, for the audit diff.
    func stored(_ config: Config, _ record: DocumentRecord) throws -> (tree: JSONValue, body: String) {
        let tree = try JSONValue(encoding: StoredDocument(config: config.withoutSecret(), record: record))
        return (tree, String(decoding: try tree.serialized(), as: UTF8.self))
    }

    /// As the platform gets it: the secret in, the local fields out, tagged with our id.
    func platformBody(_ config: Config, id: String) throws -> JSONValue {
        var fields = try JSONValue(encoding: config).objectValue ?? [:]
        for key in kind.localFields { fields.removeValue(forKey: key) }
        return Document.tagged(fields, id: id)
    }
}
