import EdmoAPI
import EdmoCore
import EdmoProviders
import EdmoService
import EdmoStore
import Foundation
import Synchronization
import Testing

/// A voice platform in memory: the services' view of one (`VoicePlatformAPI`), for fast tests of vapi mode.
final class MemoryPlatform: VoicePlatformAPI {
    let objects = Mutex<[String: [String: JSONValue]]>([:])
    let failing = Atomic<Bool>(false)
    let calls = Atomic<Int>(0)

    func create(_ collection: String, _ body: JSONValue) throws -> JSONValue {
        try check()
        var object = body.objectValue ?? [:]
        let id = "\(collection)-\(UUID().uuidString.prefix(8))"
        object["id"] = .string(id)
        objects.withLock { $0["\(collection)/\(id)"] = object }
        return .object(object)
    }

    func update(_ collection: String, id: String, _ body: JSONValue) throws -> JSONValue {
        try check()
        return try objects.withLock { all in
            guard var object = all["\(collection)/\(id)"] else { throw ProviderError.rejected(status: 404, message: "not found") }
            for (key, value) in body.objectValue ?? [:] { object[key] = value }  // top-level fields replace
            all["\(collection)/\(id)"] = object
            return .object(object)
        }
    }

    func delete(_ collection: String, id: String) throws {
        try check()
        _ = objects.withLock { $0.removeValue(forKey: "\(collection)/\(id)") }
    }

    func listAll(_ collection: String) throws -> (items: [JSONValue], complete: Bool) {
        try check()
        let items = objects.withLock { all in all.filter { $0.key.hasPrefix(collection + "/") }.map { JSONValue.object($0.value) } }
        return (items, true)
    }

    func listCalls(createdAfter: String, limit: Int) throws -> [JSONValue] { [] }

    func object(_ collection: String, _ id: String) -> [String: JSONValue]? { objects.withLock { $0["\(collection)/\(id)"] } }

    private func check() throws {
        calls.add(1, ordering: .relaxed)
        if failing.load(ordering: .relaxed) { throw ProviderError.failed("HTTP 503") }
    }
}

@Suite struct PlatformModeTests {
    func app() throws -> (TestApp, AppContext, MemoryPlatform, String) {
        let app = try TestApp()
        try app.addUser("editor@example.edu", role: .editor)
        let platform = MemoryPlatform()
        var context = app.context
        context.platform = platform
        return (app, context, platform, try app.login("editor@example.edu"))
    }

    func send(_ context: AppContext, _ method: String, _ path: String, json: String? = nil, token: String) -> Response {
        var headers = ["cookie": "auth-token=\(token)"]
        if let json { headers["content-type"] = "application/json"; headers["content-length"] = String(json.utf8.count) }
        return Router().handle(
            Request(method: method, path: path, headers: headers, body: Array((json ?? "").utf8), requestId: "r"), context)
    }

    @Test func writesGoToThePlatformFirstAndAFailureChangesNothing() throws {
        let (_, context, platform, token) = try app()
        let created = send(context, "POST", "/api/assistants", json: assistantBody, token: token)
        #expect(created.status == 201)
        let id = try #require(created.json["id"] as? String)
        let providerId = try #require(created.json["providerId"] as? String)
        #expect(platform.object("assistant", providerId)?["metadata"]?["edmoId"] == .string(id))

        platform.failing.store(true, ordering: .relaxed)
        let failed = send(context, "PATCH", "/api/assistants/\(id)", json: #"{"name":"Renamed"}"#, token: token)
        #expect(failed.status == 502)
        platform.failing.store(false, ordering: .relaxed)
        #expect(send(context, "GET", "/api/assistants/\(id)", token: token).json["name"] as? String == "Enrollment Assistant")
        #expect(try context.resources.pendingOperations().isEmpty)
    }

    @Test func concurrentPatchesAllReachTheLocalCopyAndThePlatform() throws {
        let (_, context, platform, token) = try app()
        let created = send(context, "POST", "/api/assistants", json: assistantBody, token: token)
        let id = try #require(created.json["id"] as? String)
        let providerId = try #require(created.json["providerId"] as? String)
        let statuses = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 20) { i in
            let response = send(context, "PATCH", "/api/assistants/\(id)", json: #"{"metadata":{"k\#(i)":\#(i)}}"#, token: token)
            statuses.withLock { $0.append(response.status) }
        }
        #expect(statuses.withLock { $0 } == Array(repeating: 200, count: 20))
        let keys = (0..<20).map { "k\($0)" }
        let local = try #require(send(context, "GET", "/api/assistants/\(id)", token: token).json["metadata"] as? [String: Any])
        #expect(Set(local.keys).isSuperset(of: keys))
        let remote = try #require(platform.object("assistant", providerId)?["metadata"]?.objectValue)
        #expect(Set(remote.keys).isSuperset(of: keys))
    }

    /// A delete a crashed process left half done (the platform's copy gone or not, the local one still
    /// there) is finished by the next start's recovery, and subscribers hear of it as of any other deletion.
    @Test func aDeleteLeftByACrashIsFinishedWithItsEvent() throws {
        let (app, context, platform, token) = try app()
        let created = send(context, "POST", "/api/assistants", json: assistantBody, token: token)
        let id = try #require(created.json["id"] as? String)
        let providerId = try #require(created.json["providerId"] as? String)
        let orgId = try #require(try app.context.accounts.user(email: "editor@example.edu")?.orgId)
        let stamp = Timestamp.format(context.now)
        try context.webhooks.insertEndpoint(WebhookEndpoint(
            id: "whe_a", orgId: orgId, url: "https://hooks.example.com/a", description: nil, eventTypes: [EventType.assistantDeleted],
            enabled: true, secret: [1], createdAt: stamp, updatedAt: stamp))
        try context.resources.beginOperation(ProviderOperation(
            id: "op_1", orgId: orgId, kind: .assistant, action: .delete, localId: id, owner: "another-host/1",
            startedAt: Timestamp.format(context.now.addingTimeInterval(-601))))

        ProviderSync(context: context).recover()
        #expect(platform.object("assistant", providerId) == nil)
        #expect(send(context, "GET", "/api/assistants/\(id)", token: token).status == 404)
        #expect(try context.resources.pendingOperations().isEmpty)
        let deliveries = try context.webhooks.deliveries(orgId: orgId, endpointId: "whe_a", limit: 10, offset: 0).items
        #expect(deliveries.map(\.eventType) == [EventType.assistantDeleted])
        #expect(deliveries.map(\.subject) == [id])
    }
}
