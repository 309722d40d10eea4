import ArgumentParser
import EdmoPostgres
import EdmoSQLite
import EdmoStore
import Foundation

/// `edmo backup`: a consistent snapshot of EDMO_DATABASE while the service runs.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent backup of EDMO_DATABASE while the service runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump).",
        discussion: """
            SQLite: VACUUM INTO on a read-only connection, one read transaction: the copy is the database as of \
            one commit, the service's writer is never blocked (WAL mode), and the file is compact and \
            self-contained. PostgreSQL: pg_dump --format=custom, one REPEATABLE READ snapshot; the password of \
            EDMO_DATABASE goes to pg_dump in its environment, never on its command line. Either way the backup is \
            written to a hidden temporary file beside its name, flushed to disk and renamed into place, so a crash \
            never leaves half a backup under the name. The file holds everything the store holds (sealed \
            credentials stay sealed: keep EDMO_SECRET_KEY too, apart from the backups).
            """)

    @Option(name: .customLong("to"), help: ArgumentHelp("Write the backup to this file (replaced once the new one is complete).", valueName: "path"))
    var to: String?

    @Option(
        name: .customLong("to-dir"),
        help: ArgumentHelp(
            "Write edmo-YYYYMMDDTHHMMSSZ.sqlite (or .pgdump) in this directory (made if missing), then keep only the newest --keep of those files.",
            valueName: "dir"))
    var toDir: String?

    @Option(help: ArgumentHelp("With --to-dir: how many of its edmo-*.sqlite / edmo-*.pgdump files to keep, the newest (other files are never touched).", valueName: "n"))
    var keep: Int = 7

    func validate() throws {
        guard (to == nil) != (toDir == nil) else { throw ValidationError("give either --to PATH or --to-dir DIR") }
        guard keep >= 1 else { throw ValidationError("--keep must be at least 1") }
    }

    func run() throws {
        let config = try Startup.config(needsSecretKey: false)
        let kind: BackupKind = config.isPostgres ? .pgdump : .sqlite
        var path = to ?? ""
        if let toDir {
            try FileManager.default.createDirectory(atPath: toDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            path = URL(fileURLWithPath: toDir).appendingPathComponent(BackupFiles.name(kind, at: Date())).path
        }
        let started = Date()
        do {
            let bytes = try config.isPostgres
                ? PostgresBackup.write(url: config.database, to: path, tools: PostgresTools.locate())
                : SQLiteBackup.write(database: config.database, to: path)
            let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
            print("backup: wrote \(path) (\(kind.description), \(bytes) bytes) in \(seconds) s")
            if let toDir {
                for name in try BackupFiles.prune(directory: toDir, keep: keep) { print("backup: removed \(name) (keeping the newest \(keep))") }
            }
        } catch {
            FileHandle.standardError.write(Data("backup: failed: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// `edmo restore`: a backup loaded into EDMO_DATABASE's store, which must be stopped.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Load a backup made by `edmo backup` into EDMO_DATABASE (an empty store; the service stopped), then check it.",
        discussion: """
            The backup must be of the store's kind (a SQLite file for a SQLite path, a pg_dump archive for a \
            PostgreSQL database) and made by this build or an older one: an older backup is migrated forward after \
            loading, a newer one is refused. A store holding rows is refused (the tables are named) unless --force, \
            which replaces everything in it. SQLite: SQLite's backup API copies the file into the target in one \
            transaction (a missing target is made beside its name and renamed into place), then PRAGMA \
            integrity_check and foreign_key_check. PostgreSQL: pg_restore --single-transaction --exit-on-error \
            --no-owner (--clean --if-exists with --force, which is refused over a database with migrations the backup \
            lacks; edmo's tables without a row are dropped first), so a failure leaves the database as it was. Then it prints \
            the rows of every table and checks that the analytics aggregates equal a recount of the conversations; \
            any problem exits non-zero. Run it with the service stopped: the hosts would otherwise keep writing to, \
            and caching, the store being replaced.
            """)

    @Option(name: .customLong("from"), help: ArgumentHelp("The backup file to load.", valueName: "path"))
    var from: String

    @Flag(help: "Replace a store that holds data (everything in it is lost).")
    var force = false

    func run() throws {
        let config = try Startup.config(needsSecretKey: false)
        let executable = CommandLine.arguments.first ?? "edmo"
        guard let folder = Migration.locate(configured: config.migrationsPath, executable: executable) else {
            throw ValidationError("cannot find the migrations folder; set EDMO_MIGRATIONS")
        }
        print("restore: from \(from) into \(CopyData.redacted(config.database))\(force ? " (--force: replacing what it holds)" : "")")
        do {
            let report = try config.isPostgres
                ? PostgresBackup.restore(
                    from: from, url: config.database, force: force, migrations: Migration.load(from: Migration.postgres(in: folder)),
                    tools: PostgresTools.locate())
                : SQLiteBackup.restore(from: from, into: config.database, force: force, migrations: Migration.load(from: folder))
            Self.show(report)
            guard report.differences.isEmpty else { throw BackupError.check(report.differences) }
            let checked = config.isPostgres ? "loaded in one transaction" : "integrity and foreign keys checked"
            let seconds = String(format: "%.2f", report.seconds)
            print("restore: done: \(report.rows) rows in \(report.tables.count) tables in \(seconds) s; \(checked); "
                + "analytics aggregates equal a recount")
        } catch {
            let loaded = if case .check? = error as? BackupError {
                "\n(the backup was loaded into the store: rebuild the aggregates with `edmo analytics rebuild`, "
                    + "or load another backup with --force)"
            } else { "" }
            FileHandle.standardError.write(Data("restore: failed: \(error)\(loaded)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The rows of every table, then the analytics numbers beside their recount.
    static func show(_ report: RestoreReport) {
        if !report.migrated.isEmpty { print("migrated forward: \(report.migrated.joined(separator: ", "))") }
        let width = max(24, report.tables.map(\.name.count).max() ?? 0)
        func line(_ name: String, _ numbers: [String]) -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0)
                + numbers.map { "  " + String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
        }
        print(line("table", ["rows"]))
        for table in report.tables { print(line(table.name, [String(table.rows)])) }
        print(line("(all tables)", [String(report.rows)]))
        print("analytics, whole deployment (every organisation, every day):")
        print(line("", ["aggregates", "recount"]))
        for (name, aggregates, recount) in report.analytics {
            print(line(name, [String(aggregates), String(recount)]) + (aggregates == recount ? "" : "  DIFFERS"))
        }
    }
}
