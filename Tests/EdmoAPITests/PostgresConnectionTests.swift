import EdmoCore
import EdmoPostgres
import EdmoStore
import Foundation
import Synchronization
import Testing

/// PostgresConnection and PostgresPool: values, transactions, the bound on connections, reconnection.
@Suite(.enabled(if: postgresTestsEnabled, "EDMO_TEST_POSTGRES=off"))
final class PostgresConnectionTests {
    let scratch: PostgresScratchDatabase

    init() throws {
        scratch = try PostgresScratchDatabase()
    }

    func migrated(poolSize: Int = 4) throws -> PostgresDatabase {
        let database = try PostgresDatabase(url: scratch.url, poolSize: poolSize)
        try database.migrate(try Migration.load(from: postgresMigrationsPath))
        return database
    }

    func organizations(_ database: PostgresDatabase) throws -> Int {
        try database.read { try $0.query("SELECT count(*) AS n FROM organizations")[0]["n"] }
    }

    func insertOrganization(_ connection: PostgresConnection, _ id: String) throws {
        try connection.execute("INSERT INTO organizations (id, name, created_at) VALUES ($1, $1, $2)", [id, t0])
    }

    @Test func valuesRoundTripThroughParametersAndColumns() throws {
        let database = try migrated()
        let bytes: [UInt8] = [0, 1, 0x5C, 0x78, 255]
        let row = try database.read { connection in
            try connection.query(
                "SELECT $1::text AS s, $2::bigint AS i, $3::float8 AS d, $4::boolean AS b, $5::bytea AS bytes, $6::text AS date, $7::text AS none",
                ["Zoë 👋 'quoted'", Int.min, 0.1, true, bytes, t0, nil as String?])[0]
        }
        #expect(try row["s"] as String == "Zoë 👋 'quoted'")
        #expect(try row["i"] as Int == Int.min)
        #expect(try row["d"] as Double == 0.1)
        #expect(try row["b"] as Bool == true)
        #expect(try row["bytes"] as [UInt8] == bytes)
        #expect(try row["date"] as Date == t0)
        #expect(try row["date"] as String == "2024-01-01T10:00:00.000Z")
        #expect(try row["none"] as String? == nil)
        #expect(try row[1] as Int == Int.min)
        #expect(throws: PostgresError.self) { try row["none"] as String }
        #expect(throws: PostgresError.self) { try row["missing"] as String }
    }


    @Test func aUnitOfWorkThatThrowsLeavesNothing() throws {
        struct Abandoned: Error {}
        let database = try migrated(poolSize: 1)
        #expect(throws: Abandoned.self) {
            try database.write { connection in
                try self.insertOrganization(connection, "o1")
                throw Abandoned()
            }
        }
        #expect(try organizations(database) == 0)
        // The one connection went back without a transaction open: the next unit commits on its own.
        try database.write { try self.insertOrganization($0, "o2") }
        #expect(try database.read { $0.isInTransaction } == false)
        #expect(try organizations(database) == 1)
    }

    @Test func aFailedStatementThatTheBodyIgnoredStillRollsBackTheUnit() throws {
        let database = try migrated(poolSize: 1)
        #expect(throws: PostgresError.self) {
            try database.write { connection in
                try self.insertOrganization(connection, "o1")
                _ = try? connection.execute("INSERT INTO no_such_table VALUES (1)")
            }
        }
        #expect(try organizations(database) == 0)
    }

    @Test func thePoolLendsAtMostItsSizeAndEveryBorrowerFinishes() throws {
        let pool = PostgresPool(url: scratch.url, size: 3)
        let counts = Mutex((current: 0, most: 0, finished: 0))
        let failures = Mutex<[String]>([])
        try runThreads(24) {
            do {
                try pool.read { connection in
                    counts.withLock { $0.current += 1; $0.most = max($0.most, $0.current) }
                    try connection.query("SELECT pg_sleep(0.02)")
                    counts.withLock { $0.current -= 1 }
                }
                counts.withLock { $0.finished += 1 }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let seen = counts.withLock { $0 }
        #expect(seen.finished == 24)
        #expect(seen.most == 3)
        #expect(try scratch.sessionCount() == 3)
    }

    @Test func aBorrowerWaitsNoLongerThanTheTimeout() throws {
        let pool = PostgresPool(url: scratch.url, size: 1, borrowTimeout: .milliseconds(200))
        try pool.read { _ in
            let started = Date()
            try runThreads(1) {
                #expect(throws: PostgresError.self) { try pool.read { _ in } }
            }
            #expect(Date().timeIntervalSince(started) < 5)
        }
    }

    @Test func aTerminatedConnectionIsReplacedOnItsNextUse() throws {
        let database = try migrated(poolSize: 1)
        let sql = "SELECT $1::int + 1 AS n"
        let before = try database.read { connection throws -> Int in
            #expect(try connection.query(sql, [1])[0]["n"] as Int == 2)
            return connection.backendPID
        }
        try scratch.terminate(backend: before)
        // The same prepared SQL: the new session has not seen it, and prepares it again.
        let (n, after) = try database.read { connection in (try connection.query(sql, [41])[0]["n"] as Int, connection.backendPID) }
        #expect(n == 42)
        #expect(after != before)
    }

    @Test func aStatementInATransactionIsNotReplayedOnANewConnection() throws {
        let database = try migrated(poolSize: 1)
        let url = scratch.url
        #expect(throws: PostgresError.self) {
            try database.write { connection in
                try self.insertOrganization(connection, "o1")
                try PostgresScratchDatabase.terminate(backend: connection.backendPID, url: url)
                try self.insertOrganization(connection, "o2")
            }
        }
        #expect(try organizations(database) == 0)
        try database.write { try self.insertOrganization($0, "o3") }
        #expect(try organizations(database) == 1)
    }
}
