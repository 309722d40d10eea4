import EdmoCore
import EdmoStore
import Foundation
import GRDB

/// Which file a path names: its device and inode.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

extension EdmoDatabase: StoreHealth {
    public var engine: String { "sqlite" }

    /// The file at `path` is still the one opened (open connections would go on reading and writing a
    /// removed or replaced file, and every later write would be lost), and a read of the schema page
    /// succeeds. On the pool's readers, not the calling thread's own: the caller may be a short-lived thread.
    public func ping() throws {
        try checkFile()
        try pool.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
    }

    /// Counts over `provider_operations` (a handful of rows) and the `conversations_open` index; fails
    /// like `ping` when the file is not the one opened.
    public func backlog(now: Date, idleBefore cutoff: Date) throws -> StoreBacklog {
        try checkFile()
        return try pool.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM provider_operations) AS operations,
                           (SELECT count(*) FROM conversations WHERE status = ?1) AS open,
                           (SELECT count(*) FROM conversations WHERE status = ?1 AND last_activity_at < ?2) AS idle,
                           (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
                           (SELECT count(*) FROM webhook_deliveries d WHERE \(SQLiteWebhookStore.claimable(now: "?3"))) AS due
                    """,
                arguments: [ConversationStatus.inProgress.rawValue, Timestamp.format(cutoff), Timestamp.format(now)])
            return StoreBacklog(
                providerOperations: row?["operations"] ?? 0, openConversations: row?["open"] ?? 0,
                idleConversations: row?["idle"] ?? 0, pendingDeliveries: row?["pending"] ?? 0, dueDeliveries: row?["due"] ?? 0)
        }
    }

    private func checkFile() throws {
        guard let fileIdentity else { return }
        guard let now = FileIdentity(path: path) else {
            throw StoreUnavailable("the SQLite database \(path) is gone: \(String(cString: strerror(errno)))")
        }
        guard now == fileIdentity else {
            throw StoreUnavailable("the SQLite database \(path) was replaced by another file since it was opened")
        }
    }
}
