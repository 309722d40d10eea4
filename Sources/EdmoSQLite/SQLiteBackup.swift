import EdmoStore
import Foundation
import GRDB

/// `edmo backup` and `edmo restore` on a SQLite deployment.
///
/// The backup is `VACUUM INTO` on a read-only connection of its own: one read transaction, so the copy is
/// the database as of one commit, and in WAL mode a reader never blocks the writer (the service goes on
/// committing; only the WAL cannot be checkpointed past the backup's snapshot until it ends). The result is
/// a compact file (no free pages, no WAL beside it), unlike the page-by-page backup API, which copies free
/// pages too and, run in steps, starts over whenever another connection writes.
public enum SQLiteBackup {
    /// Writes a consistent copy of the database at `path` to `target` (through a temporary file beside it,
    /// flushed and renamed: `BackupFiles.write`), checked with `PRAGMA quick_check`. Returns its size.
    @discardableResult
    public static func write(database path: String, to target: String) throws -> Int {
        guard BackupKind.of(file: path) == .sqlite else {
            throw BackupError.unreadable("there is no SQLite database at \(path)")
        }
        let source = try DatabaseQueue(path: path, configuration: readOnly())
        return try BackupFiles.write(to: target) { temporary in
            // Outside any transaction (VACUUM refuses one): the statement is its own read transaction.
            try source.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [temporary]) }
            // One self-contained file: rollback-journal mode, so opening the backup needs no -wal or -shm.
            let copy = try DatabaseQueue(path: temporary, configuration: writable())
            let problems = try copy.inDatabase { db -> [String] in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                return try String.fetchAll(db, sql: "PRAGMA quick_check").filter { $0 != "ok" }
            }
            try copy.close()
            guard problems.isEmpty else { throw BackupError.check(problems) }
        }
    }

    /// Loads the backup at `backup` into the database at `target`, then migrates it forward with
    /// `migrations` (this build's) and checks it. Refuses, before touching the target: a file that is not a
    /// SQLite database, a backup with migrations this build does not know, and a target holding rows unless
    /// `force`. The backup API copies the backup into an existing target in one write transaction; a
    /// missing target is made as a temporary file beside it and renamed into place once durable.
    public static func restore(
        from backup: String, into target: String, force: Bool, migrations: [Migration]
    ) throws -> RestoreReport {
        let started = Date()
        switch BackupKind.of(file: backup) {
        case .sqlite: break
        case .pgdump: throw BackupError.wrongKind(file: .pgdump, store: .sqlite)
        case nil: throw BackupError.unreadable("\(backup) is neither a SQLite database nor a pg_dump archive (or cannot be read)")
        }
        let recorded = try SQLiteSnapshot.read(path: backup) { try $0.appliedMigrations() }
        guard !recorded.isEmpty else { throw BackupError.unreadable("\(backup) is a SQLite database but no edmo backup (no migrations recorded)") }
        _ = try BackupError.pending(backup: recorded, build: migrations.map(\.id))

        let source = try DatabaseQueue(path: backup, configuration: readOnly())
        if FileManager.default.fileExists(atPath: target) {
            let holding = try SQLiteSnapshot.read(path: target) { snapshot in
                try snapshot.dataTables().compactMap { table -> String? in
                    let rows = try snapshot.rowCount(of: table)
                    return rows > 0 ? "\(table) (\(rows) row\(rows == 1 ? "" : "s"))" : nil
                }
            }
            guard holding.isEmpty || force else { throw BackupError.targetNotEmpty(holding) }
            let destination = try DatabaseQueue(path: target, configuration: writable())
            try source.backup(to: destination)
            try destination.close()
        } else {
            try BackupFiles.write(to: target) { temporary in
                let destination = try DatabaseQueue(path: temporary, configuration: writable())
                try source.backup(to: destination)
                try destination.close()
            }
        }
        try source.close()

        var report = RestoreReport()
        do {
            // The service's own opening (WAL, synchronous=FULL), then the migrations the backup lacks.
            let database = try EdmoDatabase(path: target)
            report.migrated = try database.migrate(migrations)
            try database.pool.close()
        }
        let checks = try DatabaseQueue(path: target, configuration: readOnly())
        report.problems = try checks.inDatabase { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
            let keys = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row -> String in
                let table: String = row[0], rowid: Int64? = row[1], parent: String = row[2]
                return "foreign key: \(table) row \(rowid.map(String.init) ?? "?") refers to a \(parent) row that is not there"
            }
            return integrity.map { "integrity: \($0)" } + keys
        }
        try checks.close()
        try SQLiteSnapshot.read(path: target) { snapshot in
            report.tables = try snapshot.dataTables().map { RestoreReport.Table(name: $0, rows: try snapshot.rowCount(of: $0)) }
            (report.aggregates, report.recount) = try snapshot.analytics(DataCopy.wholeDeployment)
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    static func readOnly() -> Configuration {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        return config
    }

    static func writable() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(5)
        return config
    }
}
