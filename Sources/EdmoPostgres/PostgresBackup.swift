import EdmoStore
import Foundation

/// `edmo backup` and `edmo restore` on PostgreSQL: `pg_dump --format=custom` and `pg_restore`, PostgreSQL's
/// own tools, rather than an export of ours. pg_dump reads every table in one REPEATABLE READ transaction
/// (one snapshot, a consistent copy while hosts write; its ACCESS SHARE locks hold back only DDL, such as
/// a host migrating at start), and its archive carries the schema, sequences, functions and triggers as
/// well as the rows, compressed, in a format every later PostgreSQL restores.
public enum PostgresBackup {
    /// Dumps the database at `url` to `target` (through a temporary file beside it, flushed and renamed:
    /// `BackupFiles.write`); the archive's table of contents is read back before the rename. Returns its size.
    @discardableResult
    public static func write(url: String, to target: String, tools: PostgresTools) throws -> Int {
        let connection = try PostgresTools.connection(url)
        return try BackupFiles.write(to: target) { temporary in
            try tools.run(
                "pg_dump", ["--format=custom", "--file=\(temporary)", "--dbname=\(connection.conninfo)"],
                environment: connection.environment)
            try tools.run("pg_restore", ["--list", temporary], environment: connection.environment)
        }
    }

    /// Loads the archive `file` into the database at `url` with `pg_restore --single-transaction
    /// --exit-on-error --no-owner` (a failure leaves the database as it was), then migrates it forward with
    /// `migrations` and reports its rows and analytics. Refuses, before touching the database: a file that
    /// is not a pg_dump archive, an archive with migrations this build does not know, and a database
    /// holding rows unless `force` (then `--clean --if-exists` drops the archive's objects first, in the same
    /// transaction; a database with migrations the archive lacks is refused). Edmo's tables without a row
    /// (a host started on the database once) are dropped first.
    public static func restore(
        from file: String, url: String, force: Bool, migrations: [Migration], tools: PostgresTools
    ) throws -> RestoreReport {
        let started = Date()
        switch BackupKind.of(file: file) {
        case .pgdump: break
        case .sqlite: throw BackupError.wrongKind(file: .sqlite, store: .pgdump)
        case nil: throw BackupError.unreadable("\(file) is neither a pg_dump archive nor a SQLite database (or cannot be read)")
        }
        let connection = try PostgresTools.connection(url)
        let recorded = try Self.migrations(in: file, tools: tools, environment: connection.environment)
        guard !recorded.isEmpty else {
            throw BackupError.unreadable("\(file) is a pg_dump archive but no edmo backup (no schema_migrations rows in it)")
        }
        _ = try BackupError.pending(backup: recorded, build: migrations.map(\.id))

        let target = try PostgresDatabase(url: url, poolSize: 1)
        let holding = try target.tablesHoldingRows()
        guard holding.isEmpty || force else { throw BackupError.targetNotEmpty(holding) }
        var arguments = ["--single-transaction", "--exit-on-error", "--no-owner"]
        if holding.isEmpty {
            // Edmo's tables without a row (a host started on it once), maybe of a newer build than the backup:
            // dropped first, nothing is lost, and no table the archive lacks is left in the way of the migrations.
            try target.write { try Self.dropEmptySchema($0) }
        } else {
            // --clean drops only what the archive holds: a table of a newer migration would stay, and the
            // migrations after the restore would find it already there.
            let newer = try target.appliedMigrations().filter { !recorded.contains($0) }
            guard newer.isEmpty else { throw BackupError.targetNewer(newer) }
            arguments += ["--clean", "--if-exists"]
        }
        do {
            try tools.run("pg_restore", arguments + ["--dbname=\(connection.conninfo)", file], environment: connection.environment)
        } catch BackupError.tool(let message) {
            throw BackupError.tool("\(message)\n(pg_restore ran in one transaction: the database is as it was before)")
        }

        // A new session: the one above saw the tables that pg_restore may have dropped and made again.
        let database = try PostgresDatabase(url: url, poolSize: 1)
        var report = RestoreReport()
        report.migrated = try database.migrate(migrations)
        try database.pool.withConnection { connection in
            // Planner statistics for the restored rows now rather than when autovacuum gets to them.
            try connection.executeScript("ANALYZE")
            report.tables = try Self.tables(connection).map { table in
                RestoreReport.Table(
                    name: table, rows: try connection.query("SELECT count(*) AS n FROM \(PostgresDataCopy.quoted(table))")[0]["n"])
            }
            report.aggregates = try PostgresAnalyticsStore.counts(
                connection, table: "analytics_daily", count: "conversations", duration: "duration_seconds", DataCopy.wholeDeployment,
                aggregate: true)
            // The conversations and the counts of removed ones, as `AnalyticsStore.recount` has them.
            report.recount = try PostgresAnalyticsStore.recount(connection, DataCopy.wholeDeployment)
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// The migrations recorded in the archive: the rows of its `schema_migrations`, as pg_restore prints
    /// them (`COPY public.schema_migrations (...) FROM stdin;`, one tab-separated row a line, `\.`).
    static func migrations(in archive: String, tools: PostgresTools, environment: [String: String]) throws -> [String] {
        let output = try tools.run(
            "pg_restore", ["--data-only", "--table=schema_migrations", "--file=-", archive], environment: environment)
        let lines = String(decoding: output.stdout, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let copy = lines.firstIndex(where: { $0.hasPrefix("COPY ") && $0.contains("schema_migrations") }) else { return [] }
        var identifiers: [String] = []
        for line in lines[(copy + 1)...] {
            if line == "\\." { break }
            if let identifier = line.split(separator: "\t").first { identifiers.append(String(identifier)) }
        }
        return identifiers.sorted()
    }

    /// Drops every table (`schema_migrations` too) and function of the public schema, in the caller's
    /// transaction, after checking again, under lock, that no table holds a row.
    static func dropEmptySchema(_ connection: PostgresConnection) throws {
        let bookkeeping: Bool = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")[0]["present"]
        let all = try tables(connection) + (bookkeeping ? ["schema_migrations"] : [])
        guard !all.isEmpty else { return }
        try connection.executeScript("LOCK TABLE \(all.map(PostgresDataCopy.quoted).joined(separator: ", ")) IN ACCESS EXCLUSIVE MODE")
        let holding = try PostgresDataCopy.tablesHoldingRows(connection)
        guard holding.isEmpty else { throw BackupError.targetNotEmpty(holding) }
        try connection.executeScript("DROP TABLE \(all.map(PostgresDataCopy.quoted).joined(separator: ", ")) CASCADE")
        let functions: [String] = try connection.query(
            "SELECT oid::regprocedure::text AS name FROM pg_proc WHERE pronamespace = 'public'::regnamespace").rows.map { try $0["name"] }
        for function in functions { try connection.executeScript("DROP FUNCTION \(function) CASCADE") }
    }

    /// The tables of the public schema but `schema_migrations`, by name.
    static func tables(_ connection: PostgresConnection) throws -> [String] {
        try connection.query(
            """
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
            ORDER BY table_name
            """
        ).rows.map { try $0["table_name"] }
    }
}
