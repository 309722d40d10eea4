import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Optimistic concurrency for clients: a single resource's `ETag` is its version, and `If-Match` on
/// PATCH or DELETE makes the change conditional on it (412 when the resource has moved on).
enum ETag {
    static func value(_ version: Int) -> String { "\"\(version)\"" }

    /// Throws 412 when the request carries an If-Match that names neither `version` nor `*`.
    static func check(_ request: Request, version: Int) throws {
        guard let header = request.header("if-match") else { return }
        // nginx's gzip marks the ETag weak (W/"3") when it compresses a response; the version behind it is
        // the same, so a weak tag names it as well.
        let tags = header.split(separator: ",").map { tag in
            let trimmed = tag.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("W/") ? String(trimmed.dropFirst(2)) : trimmed
        }
        guard tags.contains("*") || tags.contains(value(version)) else { throw changed }
    }

    static let changed = APIError(412, "The resource has changed since you read it (If-Match does not match its ETag); read it again and retry")

    /// The version a conditional delete must match: the one read, when the client named one in If-Match
    /// (`*` only asks that the resource exist).
    static func deleteVersion(_ request: Request, read version: Int) -> Int? {
        guard let header = request.header("if-match"), header.trimmingCharacters(in: .whitespaces) != "*" else { return nil }
        return version
    }
}

extension Response {
    mutating func setETag(_ version: Int) { addHeader("ETag", ETag.value(version)) }

    func withETag(_ version: Int) -> Response {
        var copy = self
        copy.setETag(version)
        return copy
    }
}

/// Read-merge-write with the write conditional on the version read: when another writer got in between
/// (`StoreError.stale`) the whole step runs again on the newer row. Each lost race means another write
/// succeeded, so this always progresses; a request that loses `attempts` times in a row gets the stale
/// error (409). Writers of one resource on this host take turns (`WriteTurns`), so they do not race each
/// other at all; the version check is what guards against other processes and hosts. No database lock
/// is held across the merge or a platform call.
enum OptimisticWrite {
    static let attempts = 100
    /// With a voice platform every attempt is a platform call (and a compensating one when it loses), so
    /// few attempts keep a request well inside nginx's 60 s.
    static let platformAttempts = 5

    static func run<T>(_ context: AppContext, key: String, _ body: () throws -> T) throws -> T {
        try context.writeTurns.inTurn(key) {
            for _ in 1..<(context.platform == nil ? attempts : platformAttempts) {
                do { return try body() } catch StoreError.stale { continue }
            }
            return try body()
        }
    }
}

/// One lock per stripe of resource ids: writers of the same resource in this process go one at a time
/// instead of losing optimistic races to each other (64 clients PATCHing one assistant otherwise retry
/// each other's work). Different resources rarely share a stripe, and a shared one only orders them.
public final class WriteTurns: Sendable {
    private let stripes: [NSLock]

    public init(stripes: Int = 64) { self.stripes = (0..<max(1, stripes)).map { _ in NSLock() } }

    func inTurn<T>(_ key: String, _ body: () throws -> T) rethrows -> T {
        var hasher = Hasher()
        hasher.combine(key)
        let lock = stripes[Int(UInt(bitPattern: hasher.finalize()) % UInt(stripes.count))]
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
