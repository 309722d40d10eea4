import EdmoStore
import Foundation

// The sealed values `edmo rotate-secret-key` walks and re-seals, as on SQLite (see SealedValues.swift).
extension PostgresResourceStore {
    public func sealedValues(_ table: SealedTable, after: String?, through: String?, limit: Int) throws -> [SealedValue] {
        // Only the bounds given, so that each page is a range of the primary key's index, whatever plan a
        // prepared statement settles on.
        var conditions = ["\(table.postgresSealedColumn) IS NOT NULL"], parameters: [(any PostgresEncodable)?] = []
        for (bound, comparison) in [(after, ">"), (through, "<=")] {
            guard let bound else { continue }
            parameters.append(bound)
            conditions.append("\(table.postgresIdColumn) \(comparison) $\(parameters.count)")
        }
        parameters.append(limit)
        return try database.read { connection in
            try connection.query(
                """
                SELECT \(table.postgresIdColumn) AS id, \(table.postgresSealedColumn) AS sealed FROM \(table.tableName)
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(table.postgresIdColumn) LIMIT $\(parameters.count)
                """,
                parameters
            ).rows.map { SealedValue(id: try $0["id"], sealed: try $0["sealed"]) }
        }
    }

    /// Under READ COMMITTED an UPDATE that waited for another writer's row lock evaluates its WHERE again on
    /// the row that writer left: a value changed meanwhile no longer equals `old`, and nothing is replaced.
    public func replaceSealedValues(_ table: SealedTable, _ changes: [SealedChange]) throws -> [String] {
        guard !changes.isEmpty else { return [] }
        return try database.write { connection in
            var replaced: [String] = []
            for change in changes {
                let changed = try connection.execute(
                    """
                    UPDATE \(table.tableName) SET \(table.postgresSealedColumn) = $1
                    WHERE \(table.postgresIdColumn) = $2 AND \(table.postgresSealedColumn) = $3
                    """,
                    [change.new, change.id, change.old])
                if changed == 1 { replaced.append(change.id) }
            }
            return replaced
        }
    }
}

extension SealedTable {
    /// Column names come from here, never from input.
    var postgresIdColumn: String { self == .toolSecrets ? "tool_id" : "id" }
    var postgresSealedColumn: String {
        switch self {
        case .toolSecrets: "sealed"
        case .phoneNumbers: "credentials"
        case .webhookSecrets: "secret"
        case .webhookPreviousSecrets: "previous_secret"
        }
    }
}
