import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoSQLite
import EdmoAPI
import Foundation
import GRDB
import Testing

@Suite struct StorageTests {
    func schema(_ database: EdmoDatabase) throws -> [String] {
        try database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb%' ORDER BY name")
        }
    }

    @Test func anEmptyDatabaseMigratesToTheLatestVersion() throws {
        let migrations = try Migration.load(from: migrationsPath)
        let database = try EdmoDatabase(path: makeTempDirectory() + "/db.sqlite")
        let applied = try database.migrate(migrations)
        #expect(applied == migrations.map(\.id))
        #expect(try database.migrate(migrations).isEmpty)
        #expect(try schema(database).contains { $0.contains("CREATE TABLE users") })
    }

    @Test func aDatabaseAtEveryOlderVersionMigratesToTheSameSchema() throws {
        let migrations = try Migration.load(from: migrationsPath)
        let fresh = try EdmoDatabase(path: makeTempDirectory() + "/fresh.sqlite")
        try fresh.migrate(migrations)
        let expected = try schema(fresh)
        for index in migrations.indices {
            let database = try EdmoDatabase(path: makeTempDirectory() + "/old.sqlite")
            try database.migrate(migrations, upTo: migrations[index].id)
            #expect(try database.appliedMigrations() == migrations[...index].map(\.id))
            try database.migrate(migrations)
            #expect(try schema(database) == expected)
        }
    }

    @Test func aDatabaseFromANewerBuildIsRefused() throws {
        let migrations = try Migration.load(from: migrationsPath)
        let database = try EdmoDatabase(path: makeTempDirectory() + "/db.sqlite")
        try database.migrate(migrations + [Migration(id: "9999_future", sql: "CREATE TABLE future (x)")])
        #expect(throws: StoreError.self) { try database.migrate(migrations) }
    }

    @Test func theDatabaseRunsInWALWithFullSyncAndForeignKeys() throws {
        let database = try EdmoDatabase(path: makeTempDirectory() + "/db.sqlite")
        let pragmas = try database.pool.write { db in
            [try String.fetchOne(db, sql: "PRAGMA journal_mode"),
             try String.fetchOne(db, sql: "PRAGMA synchronous"),
             try String.fetchOne(db, sql: "PRAGMA foreign_keys")]
        }
        #expect(pragmas == ["wal", "2", "1"])
    }

    @Test func deletingAUserDeletesTheirSessions() throws {
        let app = try TestApp()
        try app.addUser("admin@example.edu")
        let editor = try app.addUser("e@example.edu", role: .editor)
        _ = try app.login("e@example.edu")
        try app.context.accounts.deleteUser(orgId: editor.orgId, id: editor.id, version: nil)
        let count = try app.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sessions") }
        #expect(count == 0)
    }
}

@Suite struct ConfigTests {
    let base = ["EDMO_DATABASE": "/tmp/x.sqlite", "EDMO_SECRET_KEY": String(repeating: "ab", count: 32)]

    @Test func readsDefaultsAndOverrides() throws {
        var env = base
        env["EDMO_WORKERS"] = "16"
        env["EDMO_PROVIDER"] = "local"
        let config = try Config.fromEnvironment(env)
        #expect(config.workers == 16)
        #expect(config.secretKey == Array(repeating: 0xab, count: 32))
        #expect(config.maxBodyBytes == 1 << 20)
        #expect(config.provider == .local)
    }

    @Test func aMissingOrMalformedSettingIsNamed() {
        let cases: [([String: String], String)] = [
            (["EDMO_SECRET_KEY": base["EDMO_SECRET_KEY"]!], "EDMO_DATABASE"),
            (["EDMO_DATABASE": "/tmp/x"], "EDMO_SECRET_KEY"),
            (base.merging(["EDMO_SECRET_KEY": "abc"]) { $1 }, "EDMO_SECRET_KEY"),
            (base.merging(["EDMO_WORKERS": "many"]) { $1 }, "EDMO_WORKERS"),
            (base.merging(["EDMO_PROVIDER": "acme"]) { $1 }, "EDMO_PROVIDER"),
            (base.merging(["EDMO_PROVIDER": "vapi"]) { $1 }, "EDMO_PROVIDER_URL"),
        ]
        for (env, name) in cases {
            do {
                _ = try Config.fromEnvironment(env)
                Issue.record("accepted a bad setting for \(name)")
            } catch let error as ConfigError {
                #expect(error.description.hasPrefix(name), "\(error.description)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        #expect((try? Config.fromEnvironment(["EDMO_DATABASE": "/tmp/x"], needsSecretKey: false)) != nil)
    }
}
