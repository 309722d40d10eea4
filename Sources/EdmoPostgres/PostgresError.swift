import EdmoStore

/// An error reported by PostgreSQL or by libpq, with the server's SQLSTATE when there is one.
public struct PostgresError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE (`23505`), nil for client-side failures (connection lost, bad URL).
    public let sqlState: String?
    public let message: String
    /// The violated constraint's name, for integrity errors: lets a store word a conflict for its client.
    public let constraint: String?

    public init(sqlState: String? = nil, message: String, constraint: String? = nil) {
        self.sqlState = sqlState
        self.message = message
        self.constraint = constraint
    }

    public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }

    /// A serialization failure or a deadlock: nothing was written, and running the whole transaction
    /// again is expected to succeed.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// What a store reports for this error (see `StoreError`): a unique violation is a conflict, a full
    /// disk is `storageFull`; anything else stays a `PostgresError`.
    public var translated: any Error {
        switch sqlState {
        case "23505": StoreError.conflict(message)
        case "53100": StoreError.storageFull
        default: self
        }
    }

    /// Runs `body`, translating a `PostgresError` on the way out (the store boundary, as
    /// `EdmoDatabase.translatingFull` does for SQLite).
    static func translating<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PostgresError {
            throw error.translated
        }
    }
}
