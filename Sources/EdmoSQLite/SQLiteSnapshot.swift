import EdmoStore
import Foundation
import GRDB

/// A whole SQLite deployment read in one read transaction (`edmo copy-data`'s source): a consistent
/// snapshot while the service may still be writing, through a read-only connection of its own.
public final class SQLiteSnapshot: DataSnapshot {
    private let db: GRDB.Database
    private let path: String

    private init(_ db: GRDB.Database, path: String) {
        self.db = db
        self.path = path
    }

    /// Opens the file read-only and hands `body` a snapshot of it, valid until `body` returns.
    public static func read<T>(path: String, _ body: (SQLiteSnapshot) throws -> T) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataCopyError.source("there is no SQLite database at \(path)")
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: config)
        // `read` runs in one transaction: every statement below sees the same commit.
        return try queue.read { db in try body(SQLiteSnapshot(db, path: path)) }
    }

    public var description: String { path }

    public func appliedMigrations() throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
    }

    /// The tables in the order the migrations made them, without SQLite's own (`sqlite_*`), GRDB's
    /// migration record, virtual tables (FTS5, fts5vocab) and their shadow tables (`knowledge_fts_data`, ...):
    /// the target builds its own search index from the copied rows.
    public func dataTables() throws -> [String] {
        let kinds = Dictionary(
            try Row.fetchAll(db, sql: "SELECT name, type FROM pragma_table_list WHERE schema = 'main'")
                .map { (row: Row) -> (String, String) in (row["name"], row["type"]) },
            uniquingKeysWith: { first, _ in first })
        let virtual = kinds.filter { $0.value == "virtual" }.map(\.key)
        return try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid").filter { name in
            !name.hasPrefix("sqlite_") && name != "grdb_migrations" && kinds[name] == "table"
                && !virtual.contains(where: { name.hasPrefix($0 + "_") })
        }
    }

    public func columns(of table: String) throws -> [String] {
        try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?) ORDER BY cid", arguments: [table]).map { $0["name"] }
    }

    public func rowCount(of table: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(Self.quoted(table))") ?? 0
    }

    public func rows(of table: String, columns: [String], batchSize: Int, _ body: ([[TableValue]]) throws -> Void) throws {
        let cursor = try Row.fetchCursor(
            db, sql: "SELECT \(columns.map(Self.quoted).joined(separator: ", ")) FROM \(Self.quoted(table))")
        var batch: [[TableValue]] = []
        batch.reserveCapacity(batchSize)
        while let row = try cursor.next() {
            batch.append((0..<row.count).map { Self.value(row[$0] as DatabaseValue) })
            if batch.count == batchSize {
                try body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try body(batch) }
    }

    public func analytics(_ filter: AnalyticsFilter) throws -> (aggregates: AnalyticsCounts, recount: AnalyticsCounts) {
        // The store's own queries (`counts` and `recount`), on this snapshot's connection.
        (try SQLiteAnalyticsStore.counts(db, table: "analytics_daily", count: "conversations", duration: "duration_seconds", filter, aggregate: true),
         try SQLiteAnalyticsStore.recount(db, filter))
    }

    static func value(_ value: DatabaseValue) -> TableValue {
        switch value.storage {
        case .null: .null
        case .int64(let number): .integer(number)
        case .double(let number): .real(number)
        case .string(let text): .text(text)
        case .blob(let data): .blob([UInt8](data))
        }
    }

    /// An identifier read from the schema, quoted.
    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
