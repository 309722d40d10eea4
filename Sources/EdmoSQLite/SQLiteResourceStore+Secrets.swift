import EdmoStore
import Foundation
import GRDB

// The sealed values `edmo rotate-secret-key` walks and re-seals (see SealedValues.swift).
extension SQLiteResourceStore {
    public func sealedValues(_ table: SealedTable, after: String?, through: String?, limit: Int) throws -> [SealedValue] {
        // Only the bounds given, so that each page is a range of the primary key's index: `(? IS NULL OR id > ?)`
        // would scan it from the start every time.
        var conditions = ["\(table.sealedColumn) IS NOT NULL"], arguments: [(any DatabaseValueConvertible)?] = []
        if let after { conditions.append("\(table.idColumn) > ?"); arguments.append(after) }
        if let through { conditions.append("\(table.idColumn) <= ?"); arguments.append(through) }
        arguments.append(limit)
        return try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(table.idColumn) AS id, \(table.sealedColumn) AS sealed FROM \(table.tableName)
                    WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(table.idColumn) LIMIT ?
                    """,
                arguments: StatementArguments(arguments)
            ).map { SealedValue(id: $0["id"], sealed: Array($0["sealed"] as Data)) }
        }
    }

    public func replaceSealedValues(_ table: SealedTable, _ changes: [SealedChange]) throws -> [String] {
        guard !changes.isEmpty else { return [] }
        return try database.write { db in
            var replaced: [String] = []
            for change in changes {
                try db.execute(
                    sql: """
                        UPDATE \(table.tableName) SET \(table.sealedColumn) = ?
                        WHERE \(table.idColumn) = ? AND \(table.sealedColumn) = ?
                        """,
                    arguments: [Data(change.new), change.id, Data(change.old)])
                if db.changesCount == 1 { replaced.append(change.id) }
            }
            return replaced
        }
    }
}

extension SealedTable {
    /// Column names come from here, never from input.
    var idColumn: String { self == .toolSecrets ? "tool_id" : "id" }
    var sealedColumn: String {
        switch self {
        case .toolSecrets: "sealed"
        case .phoneNumbers: "credentials"
        case .webhookSecrets: "secret"
        case .webhookPreviousSecrets: "previous_secret"
        }
    }
}
