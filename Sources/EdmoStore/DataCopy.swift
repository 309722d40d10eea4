import Foundation

/// One cell of a table as the source stores it: SQLite's five storage classes. `edmo copy-data` reads
/// rows as these and the target converts each to its column's type (0/1 to boolean, blob to bytea).
public enum TableValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A consistent read of a whole deployment, the source of `edmo copy-data`: every call sees the same
/// data (one read transaction), whatever is written meanwhile. Valid only inside the call that hands it out.
public protocol DataSnapshot {
    /// Where it was read from, for messages (a file's path).
    var description: String { get }
    /// The migrations recorded in it, in order.
    func appliedMigrations() throws -> [String]
    /// The tables holding the deployment's data, in schema order: every table but migration bookkeeping,
    /// the engine's own tables and a full-text index's tables (derived, and rebuilt by the target).
    func dataTables() throws -> [String]
    /// The columns of `table`, in schema order.
    func columns(of table: String) throws -> [String]
    func rowCount(of table: String) throws -> Int
    /// Every row of `table` (its `columns`, in that order), handed to `body` in batches of at most
    /// `batchSize` rows.
    func rows(of table: String, columns: [String], batchSize: Int, _ body: ([[TableValue]]) throws -> Void) throws
    /// The analytics aggregates for `filter` and the same numbers recounted from the conversations, as
    /// `AnalyticsStore.counts` and `recount` compute them, in this snapshot.
    func analytics(_ filter: AnalyticsFilter) throws -> (aggregates: AnalyticsCounts, recount: AnalyticsCounts)
}

public enum DataCopy {
    /// Every organisation and every day: what `edmo copy-data` compares on both sides.
    public static let wholeDeployment = AnalyticsFilter(orgId: nil, fromDay: "")
}

/// What `edmo copy-data` copied and what it found on both sides: the rows of each table and the analytics
/// aggregates of the whole deployment with their recount. A copy is good when `differences` is empty.
public struct DataCopyReport: Sendable, Equatable {
    public struct Table: Sendable, Equatable {
        public var name: String
        /// Rows in the source snapshot, rows read from it, rows in the target after the copy.
        public var source: Int
        public var read: Int
        public var target: Int

        public init(name: String, source: Int, read: Int, target: Int) {
            self.name = name
            self.source = source
            self.read = read
            self.target = target
        }
    }

    public var tables: [Table] = []
    public var sourceAggregates = AnalyticsCounts()
    public var sourceRecount = AnalyticsCounts()
    public var targetAggregates = AnalyticsCounts()
    public var targetRecount = AnalyticsCounts()
    /// Sequences of the target moved past the copied values: `table.column -> next value`.
    public var sequences: [String] = []
    /// Seconds the copy took, from the first read to the checks (before the commit).
    public var seconds = 0.0

    public init() {}

    public var rows: Int { tables.reduce(0) { $0 + $1.target } }

    /// Every difference, in words; empty when the copy is complete and consistent.
    public var differences: [String] {
        var out: [String] = []
        for table in tables {
            if table.read != table.source {
                out.append("\(table.name): read \(table.read) rows of the source's \(table.source)")
            }
            if table.target != table.source {
                out.append("\(table.name): \(table.source) rows in the source, \(table.target) in the target")
            }
        }
        for (name, source, recount, target, targetRecount) in Self.fields(self) {
            if source != recount {
                out.append("analytics \(name): the source's aggregates say \(source), its conversations \(recount) "
                    + "(run `edmo analytics rebuild` on the source, then copy again)")
            }
            if target != source {
                out.append("analytics \(name): the source's aggregates say \(source), the target's \(target)")
            }
            if target != targetRecount {
                out.append("analytics \(name): the target's aggregates say \(target), its conversations \(targetRecount)")
            }
        }
        return out
    }

    /// The analytics numbers by name: (name, source aggregates, source recount, target aggregates, target recount).
    public static func fields(_ report: DataCopyReport) -> [(String, Int, Int, Int, Int)] {
        let paths: [(String, KeyPath<AnalyticsCounts, Int>)] = [
            ("conversations", \.total), ("resolved", \.resolved), ("escalated", \.escalated), ("failed", \.failed),
            ("durationSeconds", \.durationSeconds), ("web", \.web), ("phone", \.phone), ("positive", \.positive),
            ("neutral", \.neutral), ("negative", \.negative),
        ]
        return paths.map { name, path in
            (name, report.sourceAggregates[keyPath: path], report.sourceRecount[keyPath: path],
             report.targetAggregates[keyPath: path], report.targetRecount[keyPath: path])
        }
    }
}

/// Why `edmo copy-data` stopped. In every case the target holds no copied row (it may have been migrated).
public enum DataCopyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The source cannot be read (no such file).
    case source(String)
    /// The source's recorded migrations are not this build's.
    case sourceMigrations(source: [String], build: [String])
    /// The target already holds rows in these tables (`table (rows)`).
    case targetNotEmpty([String])
    /// The two schemas do not match (a table or column missing on the target).
    case schema(String)
    /// A value the target cannot take, or a batch of rows it rejected: the copy was rolled back.
    case rejected(String)
    /// The checks after the copy found differences: the copy was rolled back.
    case differs(DataCopyReport)

    public var description: String {
        switch self {
        case .source(let message):
            return "cannot read the source: \(message)"
        case .sourceMigrations(let source, let build):
            let missing = build.filter { !source.contains($0) }, unknown = source.filter { !build.contains($0) }
            var parts: [String] = []
            if !missing.isEmpty { parts.append("it lacks \(missing.joined(separator: ", ")) (run `edmo migrate` on it first)") }
            if !unknown.isEmpty { parts.append("it has \(unknown.joined(separator: ", ")), which this build does not know (use the build that made it)") }
            return "the source's migrations are not this build's: " + parts.joined(separator: "; ")
        case .targetNotEmpty(let tables):
            return "the target already holds data (\(tables.joined(separator: ", "))); copy-data only fills an empty "
                + "database: create a new one (createdb) or empty it first"
        case .schema(let message):
            return "the schemas differ: \(message); nothing was copied"
        case .rejected(let message):
            return "\(message); the copy was rolled back, the target holds none of it"
        case .differs(let report):
            return "the copy differs from the source, so it was rolled back and the target holds none of it:\n  "
                + report.differences.joined(separator: "\n  ")
        }
    }
}
