import EdmoCore
import EdmoPostgres
import EdmoSQLite
import EdmoStore
import Foundation
import GRDB
import Synchronization
import Testing

/// The PostgreSQL foundation: connection, pool, migrations and the schema's behaviour. Each test has a
/// database of its own on the server named by EDMO_TEST_POSTGRES (see PostgresTestSupport).
@Suite(.enabled(if: postgresTestsEnabled, "EDMO_TEST_POSTGRES=off"))
final class PostgresFoundationTests {
    let scratch: PostgresScratchDatabase
    let migrations: [Migration]

    init() throws {
        scratch = try PostgresScratchDatabase()
        migrations = try Migration.load(from: postgresMigrationsPath)
    }

    func migrated(poolSize: Int = 4) throws -> PostgresDatabase {
        let database = try PostgresDatabase(url: scratch.url, poolSize: poolSize)
        try database.migrate(migrations)
        return database
    }

    @Test func anEmptyDatabaseGetsEveryMigrationOnceAndTheSameOnesAsSQLite() throws {
        #expect(migrations.map(\.id) == (try Migration.load(from: migrationsPath)).map(\.id))
        #expect(migrations.count == 11)
        let database = try PostgresDatabase(url: scratch.url)
        #expect(try database.appliedMigrations().isEmpty)
        #expect(try database.migrate(migrations) == migrations.map(\.id))
        #expect(try database.migrate(migrations).isEmpty)
        #expect(try database.appliedMigrations() == migrations.map(\.id))
    }

    @Test func aDatabaseFromANewerBuildIsRefused() throws {
        let database = try PostgresDatabase(url: scratch.url)
        try database.migrate(migrations + [Migration(id: "9999_future", sql: "CREATE TABLE future (x int)")])
        let error = #expect(throws: StoreError.self) { try database.migrate(migrations) }
        guard case .schemaTooNew(let message)? = error else { Issue.record("not schemaTooNew: \(String(describing: error))"); return }
        #expect(message.contains("9999_future"))
    }

    @Test func aDatabaseAtEveryOlderVersionMigratesToTheSameSchema() throws {
        try migrated().pool.read { _ in }
        let expected = try scratch.schema()
        for index in migrations.indices {
            try scratch.reset()
            let database = try PostgresDatabase(url: scratch.url)
            try database.migrate(migrations, upTo: migrations[index].id)
            #expect(try database.appliedMigrations() == migrations[...index].map(\.id))
            #expect(try database.migrate(migrations) == migrations[(index + 1)...].map(\.id))
            #expect(try scratch.schema() == expected, "from \(migrations[index].id)")
        }
    }

    @Test func hostsStartingTogetherApplyEachMigrationOnce() throws {
        let applied = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        let (url, migrations) = (scratch.url, migrations)
        try runThreads(4) {
            do {
                let ids = try PostgresDatabase(url: url, poolSize: 1).migrate(migrations)
                applied.withLock { $0 += ids }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(applied.withLock { $0 }.sorted() == migrations.map(\.id))
    }

    @Test func errorsCarryTheirSQLStateAndMapToStoreErrors() throws {
        let database = try migrated()
        try database.write { try $0.execute("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)", ["o1", "Uni", t0]) }
        let conflict = #expect(throws: StoreError.self) {
            try database.write { try $0.execute("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)", ["o2", "Uni", t0]) }
        }
        guard case .conflict? = conflict else { Issue.record("not a conflict: \(String(describing: conflict))"); return }
        // Inside a unit of work, the raw error names the constraint, for a store to word its own message.
        try database.read { connection in
            let raw = #expect(throws: PostgresError.self) {
                try connection.execute("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)", ["o3", "Uni", t0])
            }
            #expect(raw?.sqlState == "23505")
            #expect(raw?.constraint == "organizations_name_key")
        }
        func raising(_ condition: String) throws {
            try database.write { try $0.executeScript("DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '\(condition)'; END $$") }
        }
        #expect(throws: StoreError.storageFull) { try raising("disk_full") }
        for condition in ["serialization_failure", "deadlock_detected"] {
            let error = #expect(throws: PostgresError.self) { try raising(condition) }
            #expect(error?.isRetryable == true, "\(condition)")
        }
        #expect((try #require(#expect(throws: PostgresError.self) { try raising("check_violation") })).isRetryable == false)
    }

    /// migrations/0005: deleting an assistant, or any update that sets assistant_id without raising the
    /// version, raises it once; updates that raise it themselves are not raised twice. Same steps on both.
    @Test func theDetachTriggerRaisesVersionsAsOnSQLite() throws {
        let steps = [
            "UPDATE phone_numbers SET name = 'renamed', version = version + 1 WHERE id = 'p1'",
            "UPDATE phone_numbers SET assistant_id = 'a2', version = version + 1 WHERE id = 'p1'",
            "DELETE FROM assistants WHERE id = 'a2'",
            "UPDATE phone_numbers SET assistant_id = NULL WHERE id = 'p1'",
            "UPDATE phone_numbers SET assistant_id = 'a1' WHERE id = 'p1'",
        ]
        let setup = [
            "INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'Uni', 't')",
            "INSERT INTO assistants (id, org_id, body, created_at, updated_at) VALUES ('a1', 'o1', '{}', 't', 't'), ('a2', 'o1', '{}', 't', 't')",
            "INSERT INTO phone_numbers (id, org_id, provider, number, assistant_id, created_at, updated_at) VALUES ('p1', 'o1', 'edmo', '+1', 'a1', 't', 't')",
        ]
        let sqlite = try EdmoDatabase(path: makeTempDirectory() + "/db.sqlite")
        try sqlite.migrate(try Migration.load(from: migrationsPath))
        let onSQLite = try sqlite.write { db in
            for sql in setup { try db.execute(sql: sql) }
            return try steps.map { sql in
                try db.execute(sql: sql)
                return try Int.fetchOne(db, sql: "SELECT version FROM phone_numbers WHERE id = 'p1'")!
            }
        }
        let database = try migrated()
        let onPostgres = try database.write { connection in
            for sql in setup { try connection.execute(sql) }
            return try steps.map { sql in
                try connection.execute(sql)
                return try connection.query("SELECT version FROM phone_numbers WHERE id = 'p1'")[0]["version"] as Int
            }
        }
        #expect(onSQLite == [2, 3, 4, 5, 6])
        #expect(onPostgres == onSQLite)
    }

    /// migrations/0003: the search vector weighs a title match above an alternative question, and both
    /// above the body, as the SQLite store's bm25 weights do.
    @Test func fullTextSearchRanksTitleAboveQuestionsAboveBody() throws {
        let database = try migrated()
        let entries = [
            ("k_body", "Opening hours", "We refund unused tickets within a week.", ""),
            ("k_title", "Refunds", "Write to the office.", ""),
            ("k_question", "Money back", "Write to the office.", "Can I get a refund?"),
            ("k_none", "Parking", "Park behind the library.", ""),
        ]
        let found = try database.write { connection in
            try connection.execute("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'Uni', $1)", [t0])
            try connection.execute(
                "INSERT INTO assistants (id, org_id, body, created_at, updated_at) VALUES ('a1', 'o1', '{}', $1, $1)", [t0])
            for (id, title, content, questions) in entries {
                try connection.execute(
                    """
                    INSERT INTO knowledge_entries (id, org_id, assistant_id, title, content, questions, search_title,
                        search_content, search_questions, created_at, updated_at)
                    VALUES ($1, 'o1', 'a1', $2, $3, $4, $5, $6, $7, $8, $8)
                    """,
                    [id, title, content, questions, KnowledgeRules.searchText(title), KnowledgeRules.searchText(content),
                     KnowledgeRules.searchText(questions), t0])
            }
            let terms = KnowledgeRules.searchTerms("How do refunds work?")
            return try connection.query(
                """
                SELECT id FROM knowledge_entries, to_tsquery('simple', $2) AS q
                WHERE assistant_id = $1 AND search_vector @@ q
                ORDER BY ts_rank_cd($3::float4[], search_vector, q) DESC, id
                """,
                ["a1", PostgresFullText.anyOf(terms), PostgresFullText.rankWeights]
            ).rows.map { try $0["id"] as String }
        }
        #expect(found == ["k_title", "k_question", "k_body"])
    }
}
