@testable import EdmoSQLite
import EdmoStore
import Foundation
import GRDB
import GRDBSQLite
import Testing

/// On SQLite the aggregate changes of a group commit's reports are summed and written once, after them
/// (`AnalyticsRollup`): the shared rows are written once a batch, a report rolled back takes its changes
/// with it, and the aggregates stay equal to a recount.
@Suite struct AnalyticsRollupTests {
    /// How many times each upsert (daily, hourly; of one to four rows) has run on the writer's connection.
    static func upsertRuns(_ database: EdmoDatabase) throws -> [Int32] {
        try database.write { db in
            try AnalyticsRollup.upsert.joined().map { sql in
                sqlite3_stmt_status(try db.cachedStatement(sql: sql).sqliteStatement, SQLITE_STMTSTATUS_RUN, 0)
            }
        }
    }

    @Test func aBatchOfReportsWritesItsSharedRowsOnce() throws {
        let db = try ChatContractDatabase(.sqlite)
        try db.organization("org_a", assistants: ["asst_a"])
        let database = db.sqlite!
        let before = try Self.upsertRuns(database)
        // Three new calls of the same assistant, outcome and hour: four daily and four hourly rows in all.
        let outcomes = try inOneBatch(database, (1...3).map { n in
            { try db.analytics.upsertCall(db.call("call_\(n)", second: n), messages: [], erasedKey: nil, event: nil) }
        })
        for outcome in outcomes { #expect(try outcome.get()) }
        let runs = zip(try Self.upsertRuns(database), before).map { $0 - $1 }
        // The four-row daily and hourly upserts once each (one report at a time ran each three times).
        #expect(runs == [0, 0, 0, 1, 0, 0, 0, 1])
        let counts = try db.countsEqualToRecount()
        #expect(counts.total == 3 && counts.positive == 3 && counts.durationSeconds == 180)
    }

    @Test func aReportRolledBackInItsBatchCountsNothingAndAReplacedOneCountsOnce() throws {
        let db = try ChatContractDatabase(.sqlite)
        try db.organization("org_a", assistants: ["asst_a"])
        #expect(try db.analytics.upsertCall(db.call("call_kept", reportedSecond: 1), messages: [], erasedKey: nil, event: nil))
        // A newer report of `call_kept` will take its counts back (-1), then fail on its insert.
        try db.execute("""
            CREATE TRIGGER refuse BEFORE INSERT ON conversations WHEN NEW.id = 'call_kept' AND NEW.sentiment = 'negative'
            BEGIN SELECT RAISE(ABORT, 'refused'); END
            """)
        let writes: [@Sendable () throws -> Bool] = [
            { try db.analytics.upsertCall(db.call("call_kept", sentiment: .negative, reportedSecond: 2), messages: [], erasedKey: nil, event: nil) },
            { try db.analytics.upsertCall(db.call("call_new", reportedSecond: 1), messages: [], erasedKey: nil, event: nil) },
            // `call_new` again, newer: replaced in the same batch (an -1 and a +1 of the first one's rows).
            { try db.analytics.upsertCall(db.call("call_new", sentiment: .neutral, duration: 30, reportedSecond: 2), messages: [], erasedKey: nil, event: nil) },
        ]
        let outcomes = try inOneBatch(db.sqlite!, writes)
        #expect(throws: (any Error).self) { try outcomes[0].get() }
        // The queue runs them in the order they were queued, which the threads do not fix: either order of
        // the two reports of `call_new` leaves the newer one.
        #expect(outcomes[1...].allSatisfy { (try? $0.get()) != nil })
        let counts = try db.countsEqualToRecount()
        #expect(counts.total == 2)
        #expect(counts.positive == 1 && counts.neutral == 1 && counts.durationSeconds == 90)
        // No row is left counting nothing.
        #expect(try db.rows("analytics_daily WHERE conversations = 0") == 0)
        #expect(try db.rows("analytics_hourly WHERE conversations = 0") == 0)
    }
}

/// A replaced call report takes its old counts back and removes the groupings left at zero: by their keys,
/// never by a scan of the aggregates (which grow with the assistants, numbers and days).
@Suite struct RollupStatementTests {
    @Test func emptyGroupingsAreDeletedByTheirKey() throws {
        let database = try EdmoDatabase(path: makeTempDirectory() + "/edmo.sqlite")
        try database.migrate(try Migration.load(from: migrationsPath))
        let plans = try database.read { db in
            try [AnalyticsRollup.deleteEmptyDaily, AnalyticsRollup.deleteEmptyHourly].map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: ["a", "p", "2026-01-01", "o", "web", "neutral", "resolved"])
                    .map { $0["detail"] as String }.joined(separator: " ")
            }
        }
        for plan in plans {
            #expect(plan.contains("USING PRIMARY KEY"), "\(plan)")
            #expect(!plan.contains("SCAN"), "\(plan)")
        }
    }
}
