import EdmoCore
@testable import EdmoPostgres
import EdmoSQLite
import EdmoStore
import Foundation
import GRDB
import Testing

/// `edmo backup` and `edmo restore` on both stores (what the commands run: `SQLiteBackup`, `PostgresBackup`):
/// a deployment filled through the stores, backed up, restored into an empty store, read back table by
/// table and through the stores; a store holding data refused, then replaced with --force; a backup of the
/// other kind, or of a newer build, refused; an older one migrated forward.
struct BackupTests {
    /// One store of one kind, migrated (up to `last`), with its stores; removed (dropped) at the end.
    final class Store {
        let kind: StoreKind
        /// The SQLite file's path, or the PostgreSQL database's URL: EDMO_DATABASE.
        let location: String
        private let directory: String?
        private let scratch: PostgresScratchDatabase?
        private(set) var stores: Stores!
        private var sqlite: EdmoDatabase?
        private var postgres: PostgresDatabase?

        /// `migrated: false` leaves it empty: no file (SQLite), no table (PostgreSQL).
        init(_ kind: StoreKind, migrated: Bool = true, upTo last: String? = nil) throws {
            self.kind = kind
            switch kind {
            case .sqlite:
                let directory = makeTempDirectory()
                (self.directory, scratch, location) = (directory, nil, directory + "/edmo.sqlite")
            case .postgres:
                let scratch = try PostgresScratchDatabase()
                (directory, self.scratch, location) = (nil, scratch, scratch.url)
            }
            if migrated { try open(upTo: last) }
        }

        deinit {
            if let directory { try? FileManager.default.removeItem(atPath: directory) }
        }

        /// Opens (again) what is at `location` and applies the build's migrations it lacks (up to `last`).
        func open(upTo last: String? = nil) throws {
            close()
            switch kind {
            case .sqlite:
                let database = try EdmoDatabase(path: location)
                try database.migrate(try BackupTests.migrations(kind), upTo: last)
                (sqlite, stores) = (database, database.stores)
            case .postgres:
                let database = try PostgresDatabase(url: location, poolSize: 2)
                try database.migrate(try BackupTests.migrations(kind), upTo: last)
                postgres = database
                stores = database.stores
            }
        }

        /// Lets go of every connection, as a stopped service has (the restore runs with the service stopped).
        func close() {
            try? sqlite?.pool.close()
            (sqlite, postgres, stores) = (nil, nil, nil)
        }

        func backup(to path: String) throws {
            switch kind {
            case .sqlite: try SQLiteBackup.write(database: location, to: path)
            case .postgres: try PostgresBackup.write(url: location, to: path, tools: try PostgresTools.locate())
            }
        }

        /// `edmo restore --from file [--force]` into this store, closed first.
        func restore(from file: String, force: Bool = false) throws -> RestoreReport {
            close()
            switch kind {
            case .sqlite:
                return try SQLiteBackup.restore(from: file, into: location, force: force, migrations: try BackupTests.migrations(kind))
            case .postgres:
                return try PostgresBackup.restore(
                    from: file, url: location, force: force, migrations: try BackupTests.migrations(kind), tools: try PostgresTools.locate())
            }
        }

        func execute(_ sql: String) throws {
            if let sqlite { try sqlite.write { try $0.execute(sql: sql) } }
            if let postgres { try postgres.write { try $0.executeScript(sql) } }
        }

        /// Nothing was made: no SQLite file, no PostgreSQL table.
        func holdsNothing() throws -> Bool {
            if kind == .sqlite { return !FileManager.default.fileExists(atPath: location) }
            return try contents().isEmpty
        }

        /// Every row of every data table, as text, sorted: equal for two stores of a kind means equal tables.
        func contents() throws -> [String: [String]] {
            var out: [String: [String]] = [:]
            switch kind {
            case .sqlite:
                try SQLiteSnapshot.read(path: location) { snapshot in
                    for table in try snapshot.dataTables() {
                        var rows: [String] = []
                        try snapshot.rows(of: table, columns: try snapshot.columns(of: table), batchSize: 100) { batch in
                            rows += batch.map { "\($0)" }
                        }
                        out[table] = rows.sorted()
                    }
                }
            case .postgres:
                let database = try PostgresDatabase(url: location, poolSize: 1)
                try database.read { connection in
                    for table in try PostgresBackup.tables(connection) {
                        let rows: [String] = try connection.query(
                            "SELECT row_to_json(t)::text AS r FROM \(PostgresDataCopy.quoted(table)) t").rows.map { try $0["r"] }
                        out[table] = rows.sorted()
                    }
                }
            }
            return out
        }
    }

    static func migrations(_ kind: StoreKind) throws -> [Migration] {
        try Migration.load(from: kind == .sqlite ? migrationsPath : postgresMigrationsPath)
    }

    static func backupFile(_ kind: StoreKind, in directory: String) -> String {
        directory + "/" + BackupFiles.name(kind == .sqlite ? .sqlite : .pgdump, at: t0)
    }

    // MARK: tests

    @Test(arguments: StoreKind.tested)
    func aBackupRestoresIntoAnEmptyStoreWithEveryTableEqual(_ kind: StoreKind) throws {
        let source = try Store(kind), folder = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try CopyDataTests.fill(source.stores)
        let file = Self.backupFile(kind, in: folder)
        try source.backup(to: file)
        #expect(BackupKind.of(file: file) == (kind == .sqlite ? .sqlite : .pgdump))
        // Only the backup is left in the folder: the temporary file was renamed.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [URL(fileURLWithPath: file).lastPathComponent])
        let permissions = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber
        #expect(permissions?.intValue == 0o600)

        let target = try Store(kind, migrated: false)
        let report = try target.restore(from: file)
        #expect(report.differences == [])
        #expect(report.migrated == [])
        #expect(report.tables.map(\.name).sorted() == CopyDataTests.dataTables.sorted())
        let expected = try source.contents()
        for table in report.tables {
            #expect(table.rows == expected[table.name]?.count, "\(table.name)")
            #expect(table.rows > 0, "the fixture leaves \(table.name) empty")
        }
        #expect(report.aggregates.total == 4 && report.recount == report.aggregates)
        #expect(try target.contents() == expected)

        // Through the stores, the same deployment; and it goes on working (a session, a new row, search).
        try target.open()
        let before = try CopyDataTests.everything(source.stores), after = try CopyDataTests.everything(target.stores)
        #expect(before.count == after.count)
        for (b, a) in zip(before, after) { #expect(b == a) }
        #expect(try target.stores.accounts.session(tokenHash: "tok_1")?.user?.email == "usr_1@example.edu")
        _ = try target.stores.accounts.ensureOrganization(name: "After", id: "org_after", now: t0)
        let found = try target.stores.chats.searchKnowledge(
            assistantId: "asst_a", terms: KnowledgeRules.searchTerms("When is the deadline?"), limit: 3)
        #expect(found.first?.id == "kb_1")
    }

    @Test(arguments: StoreKind.tested)
    func aStoreHoldingDataIsRefusedThenReplacedWithForce(_ kind: StoreKind) throws {
        let source = try Store(kind), folder = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try CopyDataTests.fill(source.stores)
        let file = Self.backupFile(kind, in: folder)
        try source.backup(to: file)

        let target = try Store(kind)
        _ = try target.stores.accounts.ensureOrganization(name: "Theirs", id: "org_theirs", now: t0)
        _ = try target.stores.analytics.setImportCursor("theirs", "x")
        #expect(throws: BackupError.targetNotEmpty(["import_state (1 row)", "organizations (1 row)"].sorted(by: Self.tableOrder(kind)))) {
            try target.restore(from: file)
        }
        #expect(try target.contents()["organizations"]?.count == 1)
        #expect(BackupError.targetNotEmpty(["organizations (1 row)"]).description.contains("--force"))

        let report = try target.restore(from: file, force: true)
        #expect(report.differences == [])
        #expect(try target.contents() == (try source.contents()))
        try target.open()
        #expect(try target.stores.accounts.organization(named: "Theirs") == nil)
    }

    /// SQLite lists tables in schema order, PostgreSQL by name.
    static func tableOrder(_ kind: StoreKind) -> (String, String) -> Bool {
        kind == .postgres ? { $0 < $1 } : { a, b in
            let order = CopyDataTests.dataTables
            return order.firstIndex(of: String(a.split(separator: " ")[0]))! < order.firstIndex(of: String(b.split(separator: " ")[0]))!
        }
    }

    @Test(arguments: StoreKind.tested)
    func aBackupOfTheOtherKindOrNoBackupIsRefused(_ kind: StoreKind) throws {
        let folder = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A real backup of the other kind: a SQLite one is always at hand; a pg_dump archive's first bytes.
        let other = folder + "/other"
        if kind == .postgres {
            let sqlite = try Store(.sqlite)
            try CopyDataTests.fill(sqlite.stores)
            try sqlite.backup(to: other)
        } else {
            try Data("PGDMP\u{1}\u{e}\u{0}".utf8).write(to: URL(fileURLWithPath: other))
        }
        let target = try Store(kind, migrated: false)
        let otherKind: BackupKind = kind == .sqlite ? .pgdump : .sqlite
        #expect(throws: BackupError.wrongKind(file: otherKind, store: kind == .sqlite ? .sqlite : .pgdump)) {
            try target.restore(from: other)
        }
        let text = folder + "/notes.txt"
        try Data("not a backup".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: BackupError.self) { try target.restore(from: text) }
        #expect(throws: BackupError.self) { try target.restore(from: folder + "/missing") }
        #expect(try target.holdsNothing())
    }

    @Test(arguments: StoreKind.tested)
    func anOlderBackupIsMigratedForwardAndANewerOneRefused(_ kind: StoreKind) throws {
        let build = try Self.migrations(kind).map(\.id)
        let older = try Store(kind, upTo: build[build.count - 2]), folder = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try older.stores.accounts.ensureOrganization(name: "Old", id: "org_old", now: t0)
        let file = folder + "/older"
        try older.backup(to: file)
        let target = try Store(kind, migrated: false)
        let report = try target.restore(from: file)
        #expect(report.migrated == [build.last!])
        #expect(report.differences == [])
        try target.open()
        #expect(try target.stores.accounts.organization(named: "Old")?.id == "org_old")

        // Into a store of this build with no row (a host started on it once): its empty tables give way.
        let started = try Store(kind)
        #expect(try started.restore(from: file).migrated == [build.last!])
        // Over a store of this build holding rows, with --force: SQLite replaces the whole file; pg_restore
        // --clean would leave the newer migration's tables in place, so PostgreSQL refuses, changing nothing.
        let holding = try Store(kind)
        _ = try holding.stores.accounts.ensureOrganization(name: "Theirs", id: "org_theirs", now: t0)
        if kind == .sqlite {
            #expect(try holding.restore(from: file, force: true).migrated == [build.last!])
        } else {
            #expect(throws: BackupError.targetNewer([build.last!])) { try holding.restore(from: file, force: true) }
            #expect(try holding.contents()["organizations"]?.count == 1)
        }

        let newer = try Store(kind)
        try newer.execute(
            kind == .sqlite ? "INSERT INTO grdb_migrations (identifier) VALUES ('9999_future')"
                : "INSERT INTO schema_migrations (identifier) VALUES ('9999_future')")
        let future = folder + "/newer"
        try newer.backup(to: future)
        let empty = try Store(kind, migrated: false)
        #expect(throws: BackupError.newerMigrations(unknown: ["9999_future"])) { try empty.restore(from: future) }
        #expect(try empty.holdsNothing())
    }
}

/// The files of `edmo backup --to-dir`: names, pruning, the temporary file: no store needed.
struct BackupFilesTests {
    @Test func namesAreUTCTimestampsThatSortAsTimes() {
        #expect(BackupFiles.name(.sqlite, at: t0) == "edmo-20240101T100000Z.sqlite")
        #expect(BackupFiles.name(.pgdump, at: t0.addingTimeInterval(86_399.9)) == "edmo-20240102T095959Z.pgdump")
        #expect(BackupFiles.isOwn("edmo-20240101T100000Z.sqlite") && BackupFiles.isOwn("edmo-20240101T100000Z.pgdump"))
        for other in ["edmo.sqlite", "edmo-20240101T100000Z.sqlite.bak", "edmo-2024-01-01.sqlite", ".edmo-20240101T100000Z.sqlite.partial-1"] {
            #expect(!BackupFiles.isOwn(other), "\(other)")
        }
    }

    @Test func pruneKeepsTheNewestOwnFilesAndTouchesNothingElse() throws {
        let folder = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let own = (0..<5).map { BackupFiles.name($0 == 3 ? .pgdump : .sqlite, at: t0.addingTimeInterval(Double($0) * 86_400)) }
        let others = ["notes.txt", "edmo.sqlite", "edmo-manual.sqlite"]
        for name in own + others { try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/" + name)) }
        #expect(try BackupFiles.prune(directory: folder, keep: 2) == Array(own.prefix(3)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == (Array(own.suffix(2)) + others).sorted())
        #expect(try BackupFiles.prune(directory: folder, keep: 2) == [])

        // What a crashed run left is removed; a run still writing (this process) is not disturbed.
        let dead = "." + BackupFiles.name(.sqlite, at: t0) + ".partial-2147483646"
        let alive = "." + BackupFiles.name(.sqlite, at: t0) + ".partial-\(getpid())"
        let foreign = ".notes.txt.partial-2147483646"
        for name in [dead, alive, foreign] { try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/" + name)) }
        #expect(try BackupFiles.prune(directory: folder, keep: 2) == [dead])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == (Array(own.suffix(2)) + others + [alive, foreign]).sorted())
    }

    @Test func theToolsGetThePasswordInTheirEnvironmentOnly() throws {
        for url in ["postgres://edmo:s3cr%27et@db.example.edu:5433/edmo?sslmode=require",
                    "host=db.example.edu port=5433 dbname=edmo user=edmo password='s3cr\\'et' sslmode=require"] {
            let connection = try PostgresTools.connection(url, environment: ["PATH": "/usr/bin"])
            #expect(connection.environment == ["PATH": "/usr/bin", "PGPASSWORD": "s3cr'et"], "\(url)")
            #expect(!connection.conninfo.contains("s3cr"), "\(connection.conninfo)")
            for pair in ["host='db.example.edu'", "port='5433'", "dbname='edmo'", "user='edmo'", "sslmode='require'"] {
                #expect(connection.conninfo.contains(pair), "\(connection.conninfo)")
            }
        }
        // Without a password, the caller's PGPASSWORD or ~/.pgpass is libpq's business, left as it is.
        let plain = try PostgresTools.connection("postgres://edmo@127.0.0.1/edmo", environment: ["PGPASSFILE": "/etc/edmo/pgpass"])
        #expect(plain.environment == ["PGPASSFILE": "/etc/edmo/pgpass"])
        #expect(PostgresTools.quoted(#"a'b\c"#) == #"'a\'b\\c'"#)
        #expect(throws: BackupError.self) { try PostgresTools.connection("postgres://[bad") }
    }

    @Test func aFailedWriteLeavesNoFileAndTheOldOneInPlace() throws {
        let folder = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/backup.sqlite"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        struct Interrupted: Error {}
        #expect(throws: Interrupted.self) {
            try BackupFiles.write(to: path) { temporary in
                try Data("half".utf8).write(to: URL(fileURLWithPath: temporary))
                throw Interrupted()
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["backup.sqlite"])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
        let size = try BackupFiles.write(to: path) { try Data("newer".utf8).write(to: URL(fileURLWithPath: $0)) }
        #expect(size == 5)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "newer")
        #expect(throws: BackupError.self) { try BackupFiles.write(to: folder + "/none/backup.sqlite") { _ in } }
    }
}
