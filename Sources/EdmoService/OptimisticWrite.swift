import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Read-merge-write with the write conditional on the version read: when another writer got in between
/// (`StoreError.stale`) the whole step runs again on the newer row. Each lost race means another write
/// succeeded, so this always progresses; a request that loses `attempts` times in a row gets the stale
/// error (409). Writers of one resource on this host take turns (`WriteTurns`), so they do not race each
/// other at all; the version check is what guards against other processes and hosts. No database lock
/// is held across the merge or a platform call.
public enum OptimisticWrite {
    public static let attempts = 100
    /// With a voice platform every attempt is a platform call (and a compensating one when it loses), so
    /// few attempts keep a request well inside nginx's 60 s.
    public static let platformAttempts = 5

    public static func run<T>(_ context: AppContext, key: String, _ body: () throws -> T) throws -> T {
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

    public func inTurn<T>(_ key: String, _ body: () throws -> T) rethrows -> T {
        var hasher = Hasher()
        hasher.combine(key)
        let lock = stripes[Int(UInt(bitPattern: hasher.finalize()) % UInt(stripes.count))]
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
