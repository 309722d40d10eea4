import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoSQLite
import EdmoAPI
import Foundation
import Synchronization

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var clock: Clock { Clock { [self] in current.withLock { $0 } } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Ids `usr_0001`, `org_0002`, ... in creation order.
final class CountingIDs: Sendable {
    private let counter = Mutex(0)
    var generator: IDGenerator {
        IDGenerator { [self] prefix in
            let n = counter.withLock { value -> Int in value += 1; return value }
            return String(format: "%@_%04d", prefix, n)
        }
    }
}

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let migrationsPath = repoRoot.appendingPathComponent("migrations").path
/// 2024-01-01T10:00:00.000Z, the seed's example date.
let t0 = Date(timeIntervalSince1970: 1_704_103_200)

func makeTempDirectory() -> String {
    let path = NSTemporaryDirectory() + "edmo-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// One app per test: its own temp SQLite file, migrated; a pinned clock; counting ids; cheap hashing.
struct TestApp {
    let directory: String
    let clock: TestClock
    let context: AppContext
    let database: EdmoDatabase
    let router = Router()
    let logLines: LogSink

    init(passwords: PasswordHasher = .fastForTests(), configure: (inout Config) -> Void = { _ in }) throws {
        directory = makeTempDirectory()
        clock = TestClock(t0)
        var config = Config(database: directory + "/edmo.sqlite", secretKey: Array(repeating: 7, count: 32))
        configure(&config)
        database = try EdmoDatabase(path: config.database)
        try database.migrate(try Migration.load(from: migrationsPath))
        let sink = LogSink()
        logLines = sink
        context = AppContext(
            config: config, stores: database.stores, clock: clock.clock, ids: CountingIDs().generator,
            passwords: passwords, log: Logger { line in sink.append(line) })
    }

    @discardableResult
    func addUser(_ email: String, role: Role = .admin, password: String = "password-123", org: String = "default") throws -> UserRecord {
        try UserAccounts.create(context, email: email, password: password, role: role, name: nil, orgName: org)
    }

    func send(
        _ method: String, _ path: String, json: String? = nil, token: String? = nil,
        headers: [String: String] = [:], address: String = "10.0.0.1", https: Bool = false
    ) -> Response {
        var all = headers
        if let json {
            all["content-type"] = all["content-type"] ?? "application/json"
            all["content-length"] = String(json.utf8.count)
        }
        if let token { all["cookie"] = "auth-token=\(token)" }
        let parts = path.split(separator: "?", maxSplits: 1)
        var request = Request(
            method: method, path: String(parts[0]), headers: all, body: Array((json ?? "").utf8),
            remoteAddress: address, isHTTPS: https, requestId: "test-request-id")
        if parts.count > 1 {
            for item in parts[1].split(separator: "&") {
                let kv = item.split(separator: "=", maxSplits: 1)
                request.query[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
        }
        return router.handle(request, context)
    }

    /// Logs in and returns the session token from Set-Cookie.
    func login(_ email: String, password: String = "password-123") throws -> String {
        let response = send("POST", "/api/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"}"#)
        guard response.status == 200, let cookie = response.header("Set-Cookie"),
              let token = cookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last
        else { throw TestFailure("login failed: \(response.status) \(response.bodyString)") }
        return String(token)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

final class LogSink: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

extension Response {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }
    var jsonArray: [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [[String: Any]] ?? []
    }
    var error: String? { json["error"] as? String }
}
