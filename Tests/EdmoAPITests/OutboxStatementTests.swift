@testable import EdmoSQLite
import EdmoStore
import Foundation
import GRDB
import GRDBSQLite
import Testing

/// The outbox's statements run inside nearly every write: compiled once per connection, never again. A
/// `LIKE ?` made SQLite compile them again at every execution (its plan may depend on the pattern).
@Suite struct OutboxStatementTests {
    @Test func theOutboxStatementsAreNotCompiledAgain() throws {
        let database = try EdmoDatabase(path: makeTempDirectory() + "/edmo.sqlite")
        try database.migrate(try Migration.load(from: migrationsPath))
        let stores = database.stores
        _ = try stores.accounts.ensureOrganization(name: "org_a", id: "org_a", now: Date(timeIntervalSince1970: 0))
        try stores.webhooks.insertEndpoint(WebhookEndpoint(
            id: "whe_a", orgId: "org_a", url: "https://hooks.example.com/a", description: nil,
            eventTypes: [EventType.callIngested, EventType.assistantCreated], enabled: true, secret: [1], createdAt: "2026-01-01T00:00:00.000Z",
            updatedAt: "2026-01-01T00:00:00.000Z"))
        let types = [EventType.callIngested, EventType.assistantCreated, EventType.assistantDeleted, EventType.callIngested]
        try database.write { db in
            for (n, type) in types.enumerated() {
                try SQLiteOutbox.write(db, OutboxEvent(
                    id: "evt_\(n)", orgId: "org_a", type: type, subject: "s", payload: "{}", createdAt: "2026-01-01T00:00:00.000Z"))
            }
        }
        let compiledAgain = try database.write { db in
            try [SQLiteOutbox.insertEvent, SQLiteOutbox.insertDeliveries].map { sql in
                sqlite3_stmt_status(try db.cachedStatement(sql: sql).sqliteStatement, SQLITE_STMTSTATUS_REPREPARE, 0)
            }
        }
        #expect(compiledAgain == [0, 0])
        // Only the endpoint's types were kept, each with its delivery.
        let kept = try database.read { db in try String.fetchAll(db, sql: "SELECT event_id FROM webhook_deliveries ORDER BY event_id") }
        #expect(kept == ["evt_0", "evt_1", "evt_3"])
    }
}
