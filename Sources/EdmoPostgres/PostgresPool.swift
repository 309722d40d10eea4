import Dispatch
import Synchronization

/// At most `size` connections to one database, lent to one thread at a time for one unit of work. The
/// server is thread-per-request (libfcgi workers), so borrowing blocks the thread when all are in use;
/// PostgreSQL sees at most `size` sessions from this process whatever the number of worker threads.
/// Connections open lazily, on the first borrow that finds none idle.
///
/// Do not borrow again inside `read`/`write` on the same thread: with every connection lent out, the
/// inner borrow would wait for itself.
public final class PostgresPool: Sendable {
    public let size: Int
    private let url: String
    private let borrowTimeout: Duration
    /// Connections not lent out: the most recently returned is lent first, so a quiet pool keeps using
    /// the same few warm sessions and their prepared statements.
    private let idle = Mutex<[PostgresConnection]>([])
    /// Counts what may still be lent (idle or not yet opened); a borrower waits on it when it is zero.
    private let permits: DispatchSemaphore
    /// Told how long each committed `write` took (the metrics' commit latency).
    private let onCommit: (@Sendable (Duration) -> Void)?

    public init(
        url: String, size: Int = 8, borrowTimeout: Duration = .seconds(30), onCommit: (@Sendable (Duration) -> Void)? = nil
    ) {
        precondition(size > 0, "a pool needs at least one connection")
        self.url = url
        self.size = size
        self.borrowTimeout = borrowTimeout
        self.onCommit = onCommit
        permits = DispatchSemaphore(value: size)
    }

    /// Statements in autocommit: each sees the data as of its own start. A statement that fails because
    /// the connection broke is run again once on a new session (it was not in a transaction).
    @discardableResult
    public func read<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try PostgresError.translating { try withConnection(body) }
    }

    /// One transaction: BEGIN, `body`, COMMIT; ROLLBACK if `body` throws, so a failed unit leaves nothing.
    /// Never replayed after a lost connection: the caller sees the error (a retryable one when
    /// `PostgresError.isRetryable`) and decides. `onCommit` hears how long a committed one took, from
    /// asking for a connection to the COMMIT's answer.
    @discardableResult
    public func write<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard let onCommit else { return try PostgresError.translating { try withConnection { try $0.transaction(body) } } }
        let started = ContinuousClock.now
        let value = try PostgresError.translating { try withConnection { try $0.transaction(body) } }
        onCommit(ContinuousClock.now - started)
        return value
    }

    /// Lends a connection as it is, errors untranslated: for session-level work such as advisory locks.
    @discardableResult
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let seconds = Double(borrowTimeout.components.seconds) + Double(borrowTimeout.components.attoseconds) / 1e18
        guard permits.wait(timeout: .now() + seconds) == .success else {
            throw PostgresError(message: "all \(size) PostgreSQL connections stayed busy for \(borrowTimeout)")
        }
        defer { permits.signal() }
        let connection = try idle.withLock { $0.popLast() } ?? PostgresConnection(url: url)
        defer {
            connection.rollBack()
            idle.withLock { $0.append(connection) }
        }
        return try body(connection)
    }
}
