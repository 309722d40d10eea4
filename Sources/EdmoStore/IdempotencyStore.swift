import EdmoCore
import Foundation

/// One Idempotency-Key as the store keeps it: whose, on which route, which key.
public struct IdempotencyScope: Sendable, Hashable {
    /// `user:<id>`: keys of different callers never meet.
    public var caller: String
    /// Method and path (`POST /api/assistants/asst_1/knowledge`): the route and its path parameters.
    public var route: String
    public var key: String

    public init(caller: String, route: String, key: String) {
        self.caller = caller
        self.route = route
        self.key = key
    }
}

/// A response kept for replay: status, the headers that matter, body.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [[String]]
    public var body: [UInt8]

    public init(status: Int, headers: [[String]], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The headers as stored (a JSON array of `[name, value]` pairs).
    public var headersText: String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: headers)) ?? Data("[]".utf8), as: UTF8.self)
    }

    public static func headers(fromText text: String) -> [[String]] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String]] ?? []
    }
}

/// What a claim found.
public enum IdempotencyClaim: Sendable, Equatable {
    /// The key was free (or its row expired): this request runs, then `complete`s or `release`s it.
    case claimed
    /// The key's first request finished: answer what it answered.
    case replay(StoredResponse)
    /// The key was used with another method, path or body.
    case mismatch
    /// The key's first request is still running (its lease has not run out).
    case inProgress
    /// The key's first request stopped (its process died) before its response was stored: it may or may
    /// not have taken effect, so it is never run again under this key.
    case interrupted
}

/// Idempotency-Key rows (migration 0010). Every call is one short transaction of its own, never part of the
/// change the request makes: the claim commits before the request runs, so every host sees it.
public protocol IdempotencyStore: Sendable {
    /// Claims `scope` for `owner` unless a live row holds it: a missing row, or one whose `expiresAt` has
    /// passed, is (re)written as in progress until `leaseUntil`.
    func claim(
        _ scope: IdempotencyScope, fingerprint: String, owner: String, now: Date, leaseUntil: Date, expiresAt: Date
    ) throws -> IdempotencyClaim
    /// Stores the response of the claimed request; false when `owner` no longer holds the row.
    @discardableResult
    func complete(_ scope: IdempotencyScope, owner: String, response: StoredResponse) throws -> Bool
    /// Gives the key back (the row is removed) so that a retry runs afresh: for answers not kept.
    func release(_ scope: IdempotencyScope, owner: String) throws
    /// Removes up to `limit` rows that expired at or before `now`; returns how many.
    func purgeExpired(now: Date, limit: Int) throws -> Int
    /// Removes the kept answers whose body holds `text` (an erased chat's id: its turns and its end answer
    /// hold the conversation's text); returns how many.
    func forgetAnswers(containing text: String) throws -> Int
}

/// What a live row says to a new request with its key, the same on every store.
public enum IdempotencyDecision {
    public static func decide(
        stored: String, fingerprint: String, leaseUntil: String, now: Date, status: Int?, headers: String?, body: [UInt8]?
    ) -> IdempotencyClaim {
        guard stored == fingerprint else { return .mismatch }
        if let status {
            return .replay(StoredResponse(status: status, headers: StoredResponse.headers(fromText: headers ?? "[]"), body: body ?? []))
        }
        return leaseUntil > Timestamp.format(now) ? .inProgress : .interrupted
    }
}
