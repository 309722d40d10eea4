import EdmoCore
import EdmoPostgres
import EdmoSQLite
import EdmoStore
import Foundation
import GRDB
import Synchronization
import Testing

/// The engines behind the store protocols. Every store-contract test runs once per kind with the same
/// assertions, so the two stores cannot drift apart.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// The kinds to test: both, unless EDMO_TEST_POSTGRES=off says to skip PostgreSQL knowingly. When it
    /// is unset, the PostgreSQL cases run and fail with PostgresTestServerMissing's message: a silently
    /// skipped store test is a defect.
    static let tested: [StoreKind] = postgresTestsEnabled ? allCases : [.sqlite]
}

/// With EDMO_TEST_POSTGRES=off the PostgreSQL cases are left out of every argument list; this test
/// shows that skip in the results, with its reason, rather than letting the cases vanish unremarked.
struct StoreContractKinds {
    @Test(.enabled(if: postgresTestsEnabled, "EDMO_TEST_POSTGRES=off: the PostgreSQL store-contract cases are skipped"))
    func everyStoreIsTested() {
        #expect(StoreKind.tested == StoreKind.allCases)
    }
}

/// A fresh database of one kind, migrated, with its account and resource stores; dropped at the end.
/// Immutable once made, so threads of a concurrency test may share it.
final class ContractDatabase: @unchecked Sendable {
    let kind: StoreKind
    let accounts: any AccountStore
    let resources: any ResourceStore
    let audit: any AuditStore
    let idempotency: any IdempotencyStore
    /// Runs one SQL statement as it is, for what no protocol may do (an UPDATE of the audit log).
    let execute: (String) throws -> Void
    /// Counts a table's rows, for what the protocols do not show (purged counters, cascades).
    private let countRows: (String) throws -> Int
    private let scratch: PostgresScratchDatabase?
    private let directory: String?

    /// `organizations`: ids of organisations to make first, each named as its id.
    init(_ kind: StoreKind, organizations: [String] = []) throws {
        self.kind = kind
        switch kind {
        case .sqlite:
            let directory = makeTempDirectory()
            let database = try EdmoDatabase(path: directory + "/edmo.sqlite")
            try database.migrate(try Migration.load(from: migrationsPath))
            (accounts, resources) = (SQLiteAccountStore(database: database), SQLiteResourceStore(database: database))
            audit = SQLiteAuditStore(database: database)
            idempotency = SQLiteIdempotencyStore(database: database)
            execute = { sql in try database.write { try $0.execute(sql: sql) } }
            countRows = { table in try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 } }
            (self.directory, scratch) = (directory, nil)
        case .postgres:
            let scratch = try PostgresScratchDatabase()
            // As many connections as the concurrency tests have threads, so they really run at once.
            let database = try PostgresDatabase(url: scratch.url, poolSize: 8)
            try database.migrate(try Migration.load(from: postgresMigrationsPath))
            (accounts, resources) = (PostgresAccountStore(database: database), PostgresResourceStore(database: database))
            audit = PostgresAuditStore(database: database)
            idempotency = PostgresIdempotencyStore(database: database)
            execute = { sql in try database.write { try $0.executeScript(sql) } }
            countRows = { table in try database.read { try $0.query("SELECT count(*) AS n FROM \(table)")[0]["n"] } }
            (self.scratch, directory) = (scratch, nil)
        }
        for id in organizations { try organization(id, id: id) }
    }

    deinit {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    func rows(in table: String) throws -> Int { try countRows(table) }

    // MARK: fixtures: ids and dates chosen by the test, `second` seconds after t0

    @discardableResult
    func organization(_ name: String, id: String) throws -> Organization {
        try accounts.ensureOrganization(name: name, id: id, now: t0)
    }

    @discardableResult
    func user(
        _ id: String, org: String, email: String? = nil, role: Role = .admin, disabled: Bool = false, second: Int = 0
    ) throws -> UserRecord {
        let at = Timestamp.format(t0.addingTimeInterval(TimeInterval(second)))
        let user = UserRecord(
            id: id, orgId: org, email: email ?? "\(id)@example.edu", name: "Name \(id)", role: role, disabled: disabled,
            passwordHash: "hash-\(id)", createdAt: at, updatedAt: at)
        try accounts.insertUser(user)
        return user
    }

    @discardableResult
    func document(
        _ kind: DocumentKind, _ id: String, org: String, providerId: String? = nil, second: Int = 0,
        secret: [UInt8]? = nil, completing operation: String? = nil
    ) throws -> DocumentRecord {
        let at = Timestamp.format(t0.addingTimeInterval(TimeInterval(second)))
        let record = DocumentRecord(id: id, orgId: org, providerId: providerId, body: #"{"id":"\#(id)"}"#, createdAt: at, updatedAt: at)
        try resources.insertDocument(kind, record, secret: secret, completing: operation)
        return record
    }

    @discardableResult
    func phoneNumber(
        _ id: String, org: String, number: String, assistant: String? = nil, providerId: String? = nil, second: Int = 0,
        credentials: [UInt8]? = nil, completing operation: String? = nil
    ) throws -> PhoneNumberRecord {
        let at = Timestamp.format(t0.addingTimeInterval(TimeInterval(second)))
        let record = PhoneNumberRecord(
            id: id, orgId: org, provider: "edmo", number: number, name: "Line \(id)", assistantId: assistant,
            providerId: providerId, credentials: credentials, createdAt: at, updatedAt: at)
        try resources.insertPhoneNumber(record, completing: operation)
        return record
    }

    func operation(_ id: String, org: String, kind: ProviderOperation.Kind = .assistant, second: Int = 0) throws {
        try resources.beginOperation(
            ProviderOperation(
                id: id, orgId: org, kind: kind, action: .create, localId: "local-\(id)", owner: "usr_1",
                startedAt: Timestamp.format(t0.addingTimeInterval(TimeInterval(second)))))
    }
}

/// The outcomes of many threads, counted.
final class Outcomes: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Runs `body` and counts "ok", or the error's description.
    func record(_ body: () throws -> Void) {
        let outcome: String
        do {
            try body()
            outcome = "ok"
        } catch {
            outcome = "\(error)"
        }
        counts.withLock { $0[outcome, default: 0] += 1 }
    }

    var all: [String: Int] { counts.withLock { $0 } }
    subscript(_ outcome: String) -> Int { all[outcome] ?? 0 }
}

/// The numbers some callback was handed, from any thread.
final class Seen: Sendable {
    private let values = Mutex<[Int]>([])
    func append(_ value: Int) { values.withLock { $0.append(value) } }
    var all: [Int] { values.withLock { $0 } }
}
