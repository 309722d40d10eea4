import CLibPQ

/// The rows of one statement, as libpq holds them (text format), freed with the last reference.
/// Read it on the thread that ran the statement, before the connection goes back to the pool.
public final class PostgresResult {
    private let handle: OpaquePointer
    /// Rows returned (SELECT, RETURNING).
    public let count: Int
    /// Rows inserted, updated or deleted (`PQcmdTuples`); 0 for statements that change none.
    public let affectedRows: Int
    public let columns: [String]
    /// The command tag (`INSERT 0 1`, `COMMIT`, or `ROLLBACK` for a COMMIT that could not commit).
    let commandTag: String
    private let columnIndex: [String: Int]

    init(_ handle: OpaquePointer) {
        self.handle = handle
        count = Int(PQntuples(handle))
        affectedRows = Int(String(cString: PQcmdTuples(handle))) ?? 0
        commandTag = String(cString: PQcmdStatus(handle))
        columns = (0..<PQnfields(handle)).map { String(cString: PQfname(handle, $0)) }
        columnIndex = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit { PQclear(handle) }

    public var rows: [PostgresRow] { (0..<count).map { PostgresRow(result: self, index: $0) } }
    public subscript(row: Int) -> PostgresRow { PostgresRow(result: self, index: row) }
    /// The first row, if any.
    public var first: PostgresRow? { count > 0 ? self[0] : nil }

    func column(named name: String) throws -> Int {
        guard let index = columnIndex[name] else {
            throw PostgresError(message: "no column \(name) in the result (columns: \(columns.joined(separator: ", ")))")
        }
        return index
    }

    /// The column's text, or nil for NULL.
    func value<T: PostgresDecodable>(row: Int, column: Int, as type: T.Type) throws -> T? {
        guard row >= 0, row < count, column >= 0, column < columns.count else {
            throw PostgresError(message: "no row \(row), column \(column) in a result of \(count) × \(columns.count)")
        }
        if PQgetisnull(handle, Int32(row), Int32(column)) == 1 { return nil }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        let text = UnsafeRawPointer(PQgetvalue(handle, Int32(row), Int32(column))!).assumingMemoryBound(to: UInt8.self)
        guard let value = T.decode(postgresText: UnsafeBufferPointer(start: text, count: length)) else {
            throw PostgresError(message: "column \(columns[column]) is not a valid \(T.self)")
        }
        return value
    }
}

/// One row of a result, read by column name or index:
/// `let id: String = try row["id"]`, `let name: String? = try row["name"]`, `let n: Int = try row[0]`.
/// A NULL read as a non-optional type throws, like a missing column.
public struct PostgresRow {
    let result: PostgresResult
    let index: Int

    public subscript<T: PostgresDecodable>(_ column: String) -> T {
        get throws { try required(try result.value(row: index, column: result.column(named: column), as: T.self), column) }
    }

    public subscript<T: PostgresDecodable>(_ column: String) -> T? {
        get throws { try result.value(row: index, column: result.column(named: column), as: T.self) }
    }

    public subscript<T: PostgresDecodable>(_ column: Int) -> T {
        get throws { try required(try result.value(row: index, column: column, as: T.self), result.columns[column]) }
    }

    public subscript<T: PostgresDecodable>(_ column: Int) -> T? {
        get throws { try result.value(row: index, column: column, as: T.self) }
    }

    public func isNull(_ column: String) throws -> Bool {
        try result.value(row: index, column: result.column(named: column), as: String.self) == nil
    }

    private func required<T>(_ value: T?, _ column: String) throws -> T {
        guard let value else { throw PostgresError(message: "column \(column) is NULL, read as \(T.self)") }
        return value
    }
}
