import EdmoStore
import EdmoPostgres
import Foundation

/// The PostgreSQL server the tests use: `EDMO_TEST_POSTGRES`, a URL (`make unit` starts a throwaway
/// cluster, see tests/pg/cluster). Unset, every PostgreSQL test fails: a silently skipped store test is a
/// defect. `off` skips them knowingly.
let postgresTestServer = ProcessInfo.processInfo.environment["EDMO_TEST_POSTGRES"]
let postgresTestsEnabled = postgresTestServer != "off"
let postgresMigrationsPath = Migration.postgres(in: migrationsPath)

struct PostgresTestServerMissing: Error, CustomStringConvertible {
    var description: String {
        "EDMO_TEST_POSTGRES is not set: set EDMO_TEST_POSTGRES, or run make unit which starts a throwaway cluster "
            + "(tests/pg/cluster start DIR prints a URL); EDMO_TEST_POSTGRES=off skips the PostgreSQL tests"
    }
}

/// A database of its own for one test (`edmo_test_<random>`), so tests run in parallel; dropped at the end.
final class PostgresScratchDatabase {
    let name: String
    let url: String
    private let admin: PostgresConnection

    init() throws {
        guard let server = postgresTestServer, !server.isEmpty else { throw PostgresTestServerMissing() }
        guard var components = URLComponents(string: server), components.scheme?.hasPrefix("postgres") == true else {
            throw PostgresError(message: "EDMO_TEST_POSTGRES must be a postgres:// URL, not \(server)")
        }
        name = "edmo_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        components.path = "/" + name
        url = components.string!
        admin = try PostgresConnection(url: server)
        // An identifier cannot be a parameter; this one is made here of hex digits only.
        try admin.executeScript("CREATE DATABASE \(name)")
    }

    deinit { try? admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }

    /// Empties the database (every table, function and `schema_migrations`), to migrate it again.
    func reset() throws {
        let connection = try PostgresConnection(url: url)
        try connection.executeScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    }

    /// Ends another session of this database, as an operator or a failover would, and waits until it is gone.
    func terminate(backend pid: Int) throws { try Self.terminate(backend: pid, url: url) }

    static func terminate(backend pid: Int, url: String) throws {
        let connection = try PostgresConnection(url: url)
        let done: Bool = try connection.query("SELECT pg_terminate_backend($1, 5000) AS done", [pid])[0]["done"]
        guard done else { throw PostgresError(message: "backend \(pid) did not end") }
    }

    /// Sessions open on this database, apart from the one asking.
    func sessionCount() throws -> Int {
        let connection = try PostgresConnection(url: url)
        return try connection.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")[0]["n"]
    }

    /// Tables, columns, indexes, constraints and triggers, one line each, sorted: equal lists are equal schemas.
    func schema() throws -> [String] {
        let connection = try PostgresConnection(url: url)
        return try connection.query(
            """
            SELECT line FROM (
                SELECT format('%s.%s %s %s %s %s', table_name, column_name, data_type, collation_name, is_nullable,
                              coalesce(column_default, generation_expression, '')) AS line
                FROM information_schema.columns WHERE table_schema = 'public'
                UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
                UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                UNION ALL SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
            ) AS schema
            ORDER BY line
            """
        ).rows.map { try $0["line"] }
    }
}

/// Runs `body` on `count` threads of their own, all at once (a dispatch pool would run two at a time on
/// two cores), as FastCGI workers do; waits for every one.
func runThreads(_ count: Int, timeout: TimeInterval = 60, _ body: @escaping @Sendable () -> Void) throws {
    let group = DispatchGroup()
    for _ in 0..<count {
        group.enter()
        Thread {
            body()
            group.leave()
        }.start()
    }
    guard group.wait(timeout: .now() + timeout) == .success else {
        throw PostgresError(message: "\(count) threads did not all finish in \(timeout) s")
    }
}
