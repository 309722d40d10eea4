import Foundation

/// What a backup file holds, told by its first bytes, never by its name: a SQLite database (from a SQLite
/// deployment) or a `pg_dump --format=custom` archive (from a PostgreSQL one). A store restores its own kind only.
public enum BackupKind: String, Sendable, Equatable {
    case sqlite
    case pgdump

    /// The extension of the files `edmo backup --to-dir` names.
    public var fileExtension: String { rawValue }

    public var description: String {
        switch self {
        case .sqlite: "a SQLite database file"
        case .pgdump: "a pg_dump archive (custom format)"
        }
    }

    /// The kind of the file at `path`, or nil when it is neither (or cannot be read).
    public static func of(file path: String) -> BackupKind? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        if head == Array("SQLite format 3\0".utf8) { return .sqlite }
        if head.starts(with: Array("PGDMP".utf8)) { return .pgdump }
        return nil
    }
}

/// Why `edmo backup` or `edmo restore` stopped. A refused restore has not touched the target.
public enum BackupError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file cannot be read, or is no backup of either kind.
    case unreadable(String)
    /// The backup is of the other store's kind.
    case wrongKind(file: BackupKind, store: BackupKind)
    /// The target holds rows in these tables (`table (rows)`) and --force was not given.
    case targetNotEmpty([String])
    /// The backup has migrations this build does not know: it comes from a newer edmo.
    case newerMigrations(unknown: [String])
    /// The backup's migrations are not a beginning of this build's (a gap or another order).
    case foreignMigrations(backup: [String], build: [String])
    /// --force over a PostgreSQL store with these migrations, which the backup lacks.
    case targetNewer([String])
    /// A tool (pg_dump, pg_restore) is missing or failed; its message.
    case tool(String)
    /// The restored database failed a check (integrity, foreign keys, aggregates against their recount).
    case check([String])

    public var description: String {
        switch self {
        case .unreadable(let message):
            return message
        case .wrongKind(let file, let store):
            let hint = file == .sqlite
                ? " (to move a SQLite deployment to PostgreSQL, restore the file into a SQLite store, then use `edmo copy-data`)"
                : ""
            let restores = store == .sqlite ? "a SQLite store, which restores SQLite database files" : "a PostgreSQL store, which restores pg_dump archives"
            return "the backup is \(file.description), but EDMO_DATABASE names \(restores) only\(hint)"
        case .targetNotEmpty(let tables):
            return "the target already holds data (\(tables.joined(separator: ", "))); restore only fills an empty store: "
                + "point EDMO_DATABASE at a new one, or give --force to replace everything in it with the backup"
        case .newerMigrations(let unknown):
            return "the backup has migration\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")), which this build "
                + "does not know: it was made by a newer edmo; restore it with that version"
        case .foreignMigrations(let backup, let build):
            return "the backup's migrations (\(backup.joined(separator: ", "))) are not a beginning of this build's "
                + "(\(build.joined(separator: ", ")))"
        case .targetNewer(let migrations):
            return "the store has migration\(migrations.count == 1 ? "" : "s") \(migrations.joined(separator: ", ")), which the "
                + "backup lacks: restoring over it would leave their tables in place; restore into a new database (createdb) instead"
        case .tool(let message):
            return message
        case .check(let problems):
            return "the restored store failed its checks:\n  " + problems.joined(separator: "\n  ")
        }
    }

    /// Refuses a backup whose migrations are not this build's first ones; returns those it lacks (applied
    /// after the restore).
    public static func pending(backup: [String], build: [String]) throws -> [String] {
        let unknown = backup.filter { !build.contains($0) }
        guard unknown.isEmpty else { throw BackupError.newerMigrations(unknown: unknown) }
        guard Array(build.prefix(backup.count)) == backup else {
            throw BackupError.foreignMigrations(backup: backup, build: build)
        }
        return Array(build.dropFirst(backup.count))
    }
}

/// What `edmo restore` found in the store it filled: the rows of every data table, the migrations it
/// applied after loading an older backup, and the analytics aggregates of the whole deployment with their
/// recount from the conversations. A restore is good when `differences` is empty.
public struct RestoreReport: Sendable, Equatable {
    public struct Table: Sendable, Equatable {
        public var name: String
        public var rows: Int
        public init(name: String, rows: Int) { self.name = name; self.rows = rows }
    }

    public var tables: [Table] = []
    public var migrated: [String] = []
    public var aggregates = AnalyticsCounts()
    public var recount = AnalyticsCounts()
    /// What the database's own checks said (SQLite's integrity_check and foreign_key_check); empty when fine.
    public var problems: [String] = []
    public var seconds = 0.0

    public init() {}

    public var rows: Int { tables.reduce(0) { $0 + $1.rows } }

    /// The analytics numbers by name: (name, aggregates, recount).
    public var analytics: [(String, Int, Int)] {
        var report = DataCopyReport()
        report.targetAggregates = aggregates
        report.targetRecount = recount
        return DataCopyReport.fields(report).map { ($0.0, $0.3, $0.4) }
    }

    /// Every difference, in words; empty when the restored store is whole and consistent.
    public var differences: [String] {
        problems + analytics.filter { $0.1 != $0.2 }.map { name, aggregates, recount in
            "analytics \(name): the aggregates say \(aggregates), the conversations \(recount) "
                + "(`edmo analytics rebuild` recomputes the aggregates)"
        }
    }
}
