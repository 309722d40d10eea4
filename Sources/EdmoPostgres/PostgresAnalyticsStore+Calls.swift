import EdmoCore
import EdmoStore
import Foundation

extension PostgresAnalyticsStore {
    // MARK: keys

    public func createKey(_ key: AnalyticsKey, hash: String) throws {
        try database.write { connection in
            try connection.execute(
                "INSERT INTO analytics_keys (id, org_id, name, key_hash, prefix, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [key.id, key.orgId, key.name, hash, key.prefix, key.createdAt, key.revokedAt])
        }
    }

    public func keys(orgId: String) throws -> [AnalyticsKey] {
        try database.read { connection in
            try connection.query(
                "SELECT \(ChatColumns.analyticsKey) FROM analytics_keys WHERE org_id = $1 ORDER BY created_at DESC, id DESC", [orgId]
            ).rows.map(AnalyticsKey.init(postgres:))
        }
    }

    public func key(hash: String) throws -> AnalyticsKey? {
        try database.read { connection in
            try connection.query("SELECT \(ChatColumns.analyticsKey) FROM analytics_keys WHERE key_hash = $1", [hash])
                .first.map(AnalyticsKey.init(postgres:))
        }
    }

    /// Revoking again keeps the first date, and still succeeds.
    public func revokeKey(orgId: String, id: String, now: Date) throws {
        try database.write { connection in
            let changed = try connection.execute(
                "UPDATE analytics_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND org_id = $3", [now, id, orgId])
            guard changed == 1 else { throw StoreError.notFound("Analytics key") }
        }
    }

    // MARK: provider calls

    /// Idempotent by call id under concurrent hosts. The stored call is locked while its report time is
    /// compared, so of two hosts ingesting reports of one call at once, the second waits and then compares
    /// with what the first wrote: a repeated or older report changes nothing, and the call is counted once.
    /// A call seen for the first time is inserted only if no other host inserted it meanwhile; if one did,
    /// this compares with that host's row instead. Concurrent reports share commits (GroupCommit, see PostgresGroupCommit).
    ///
    /// A call erased meanwhile: its row was locked by the erasure, which this waits for, then finds it gone and
    /// its hash recorded, so the report is dropped.
    public func upsertCall(
        _ record: ConversationRecord, messages: [ConversationMessage], erasedKey: String?, event: OutboxEvent?
    ) throws -> Bool {
        try database.callReports.write { connection in
            // Each turn either decides, or finds that another host inserted the call since it looked; a
            // call is inserted once, so the second turn finds it.
            for _ in 0..<3 {
                if let existing = try PostgresConversations.find(connection, id: record.id, locking: true) {
                    guard existing.orgId == record.orgId else { throw StoreError.conflict("This call id belongs to another organisation") }
                    if let stored = existing.reportedAt, let incoming = record.reportedAt, incoming <= stored {
                        return .init(changed: false, rollup: [])
                    }
                    // The new report replaces the call and its messages, as SQLite's delete and insert do.
                    try PostgresConversations.replace(connection, record)
                    try connection.execute("DELETE FROM conversation_messages WHERE conversation_id = $1", [record.id])
                    try PostgresConversations.append(connection, conversationId: record.id, messages)
                    try PostgresOutbox.write(connection, event)
                    return .init(changed: true, rollup: [(existing, -1), (record, 1)])
                }
                if let erasedKey, try PostgresConversationRemoval.isErased(connection, key: erasedKey) {
                    return .init(changed: false, rollup: [])
                }
                if try PostgresConversations.insert(connection, record, ifAbsent: true) {
                    try PostgresConversations.append(connection, conversationId: record.id, messages)
                    try PostgresOutbox.write(connection, event)
                    return .init(changed: true, rollup: [(record, 1)])
                }
            }
            // Inserted by another host, then deleted before this one could read it: the caller retries.
            throw StoreError.stale
        }
    }

    public func importCursor(_ name: String) throws -> String? {
        try database.read { connection in
            try connection.query("SELECT cursor FROM import_state WHERE name = $1", [name]).first.map { try $0["cursor"] }
        }
    }

    public func setImportCursor(_ name: String, _ cursor: String) throws {
        try database.write { connection in
            try connection.execute(
                "INSERT INTO import_state (name, cursor) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor",
                [name, cursor])
        }
    }
}
