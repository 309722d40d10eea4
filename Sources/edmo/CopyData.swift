import ArgumentParser
import EdmoPostgres
import EdmoSQLite
import EdmoStore
import Foundation

/// `edmo copy-data --to URL`: moves a SQLite deployment (EDMO_DATABASE) to an empty PostgreSQL database.
/// The work is `PostgresDatabase.copyDeployment` over a `SQLiteSnapshot`; this prints what it did and found.
struct CopyData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-data",
        abstract: "Copy the SQLite deployment of EDMO_DATABASE into an empty PostgreSQL database, then check both sides.",
        discussion: """
            Reads the SQLite file in one read transaction (a consistent snapshot, also while the service runs: \
            what is written after the snapshot is not copied, so stop the service or its writes first to miss \
            nothing). The source must have exactly this build's migrations (run `edmo migrate` on it first). The \
            target is migrated to the same version and must hold no data; every data table is copied in \
            foreign-key order in one PostgreSQL transaction, so a failure leaves the target without any copied \
            row. Sealed credentials (phone numbers, tool secrets) are copied as their bytes: start the PostgreSQL \
            hosts with the same EDMO_SECRET_KEY. Before committing, it checks that every table holds as many rows \
            on both sides, and that the analytics aggregates of the whole deployment equal the source's and a \
            recount of the conversations on both sides; any difference rolls the copy back and exits non-zero.
            """)

    @Option(
        name: .customLong("to"),
        help: ArgumentHelp(
            "The PostgreSQL database to fill: postgres://user@host:5432/db?sslmode=... or a libpq key=value string.",
            discussion: "Give no password in it: libpq reads it from ~/.pgpass (or PGPASSFILE) or PGPASSWORD.",
            valueName: "url"))
    var to: String

    func run() throws {
        let config = try Startup.config(needsSecretKey: false)
        guard !config.isPostgres else {
            throw ValidationError("EDMO_DATABASE names a PostgreSQL database; copy-data copies from a SQLite file: set EDMO_DATABASE to its path")
        }
        var target = config
        target.database = to
        guard target.isPostgres else {
            throw ValidationError("--to must name a PostgreSQL database: postgres://user@host:5432/db or a libpq key=value string")
        }
        let executable = CommandLine.arguments.first ?? "edmo"
        guard let folder = Migration.locate(configured: config.migrationsPath, executable: executable) else {
            throw ValidationError("cannot find the migrations folder; set EDMO_MIGRATIONS")
        }
        let build = try Migration.load(from: folder).map(\.id)
        let migrations = try Migration.load(from: Migration.postgres(in: folder))
        print("copy-data: from \(config.database) to \(Self.redacted(to))")
        do {
            let report = try SQLiteSnapshot.read(path: config.database) { snapshot in
                let database = try PostgresDatabase(url: to, poolSize: 2)
                return try database.copyDeployment(from: snapshot, build: build, migrations: migrations) { print("  \($0)") }
            }
            Self.show(report)
            print(String(
                format: "copy-data: done: %d rows in %d tables in %.1f s; row counts and analytics aggregates equal on both sides",
                report.rows, report.tables.count, report.seconds))
        } catch {
            if case DataCopyError.differs(let report) = error { Self.show(report) }
            let nothing = error is DataCopyError ? "" : "; the target holds no copied row"
            FileHandle.standardError.write(Data("copy-data: failed: \(error)\(nothing)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The rows of every table on both sides, then the analytics numbers.
    static func show(_ report: DataCopyReport) {
        func row(_ cells: [String], _ widths: [Int]) -> String {
            zip(cells, widths).enumerated().map { index, cell in
                index == 0 ? cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: max(0, cell.1 - cell.0.count)) + cell.0
            }.joined(separator: "  ")
        }
        let widths = [max(24, (report.tables.map(\.name.count).max() ?? 0)), 10, 10]
        print(row(["table", "source", "target"], widths))
        for table in report.tables {
            print(row([table.name, String(table.source), String(table.target)], widths) + (table.source == table.target ? "" : "  DIFFERS"))
        }
        print(row(["(all tables)", String(report.tables.reduce(0) { $0 + $1.source }), String(report.rows)], widths))
        print("analytics, whole deployment (every organisation, every day):")
        let analytics = [widths[0], 18, 15, 18, 15]
        print(row(["", "source aggregates", "source recount", "target aggregates", "target recount"], analytics))
        for (name, source, recount, target, targetRecount) in DataCopyReport.fields(report) {
            let same = source == recount && source == target && target == targetRecount
            print(row([name] + [source, recount, target, targetRecount].map(String.init), analytics) + (same ? "" : "  DIFFERS"))
        }
        print("sequences moved past the copied values: " + (report.sequences.isEmpty ? "none (no serial column)" : report.sequences.joined(separator: ", ")))
    }

    /// The URL without a password, if one was given anyway.
    static func redacted(_ url: String) -> String {
        if var components = URLComponents(string: url), components.scheme?.hasPrefix("postgres") == true {
            if components.password != nil { components.password = "***" }
            return components.string ?? url
        }
        return url.replacingOccurrences(of: #"password\s*=\s*('([^'\\]|\\.)*'|\S+)"#, with: "password=***", options: .regularExpression)
    }
}
