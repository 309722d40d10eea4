import EdmoStore
import Foundation

extension PostgresDatabase {
    /// `edmo copy-data`: copies every data table of `snapshot` (a SQLite deployment) into this database,
    /// which must hold no data. Refuses a source whose migrations are not `build` (this build's
    /// identifiers), migrates this database with `migrations` first, then copies in ONE transaction (a
    /// failure leaves no copied row) and checks, before committing, that every table holds as many rows as
    /// in the source and that the analytics aggregates of the whole deployment equal the source's and a
    /// recount of the conversations on both sides; any difference rolls the copy back
    /// (`DataCopyError.differs`). Sealed values (tool secrets, phone credentials) are copied as their bytes.
    @discardableResult
    public func copyDeployment(
        from snapshot: any DataSnapshot, build: [String], migrations: [Migration], batchSize: Int = 1000,
        progress: (String) -> Void = { _ in }
    ) throws -> DataCopyReport {
        let applied = try snapshot.appliedMigrations()
        guard applied == build else { throw DataCopyError.sourceMigrations(source: applied, build: build) }
        // Before migrating: a database holding someone's data is not touched at all.
        let holding = try tablesHoldingRows()
        guard holding.isEmpty else { throw DataCopyError.targetNotEmpty(holding) }
        let migrated = try migrate(migrations)
        if !migrated.isEmpty { progress("target migrated: \(migrated.joined(separator: ", "))") }
        let targetMigrations = try appliedMigrations()
        guard targetMigrations == build else {
            throw DataCopyError.schema(
                "the target's migrations (\(targetMigrations.joined(separator: ", "))) are not the source's (\(build.joined(separator: ", ")))")
        }
        let report = try withoutActuallyEscaping(progress) { progress in
            try pool.withConnection { connection in
                try connection.transaction { transaction in
                    try PostgresDataCopy(connection: transaction, snapshot: snapshot, batchSize: batchSize, progress: progress).run()
                }
            }
        }
        // Planner statistics for the new rows now rather than when autovacuum gets to them.
        _ = try? pool.withConnection { try $0.executeScript("ANALYZE") }
        return report
    }

    /// The tables of this database (but `schema_migrations`) that hold at least one row, as `name (rows)`.
    public func tablesHoldingRows() throws -> [String] {
        try pool.read { connection in try PostgresDataCopy.tablesHoldingRows(connection) }
    }
}

/// One copy, on the connection of its transaction.
struct PostgresDataCopy {
    let connection: PostgresConnection
    let snapshot: any DataSnapshot
    let batchSize: Int
    let progress: (String) -> Void

    /// A column of the target, from `information_schema.columns`.
    struct Column {
        var name: String
        /// `data_type`: `boolean`, `bytea`, `integer`, `bigint`, `double precision`, `text`, ...
        var type: String
        /// Computed by PostgreSQL (the knowledge search vector): never written.
        var generated: Bool
        /// GENERATED ALWAYS AS IDENTITY: written with OVERRIDING SYSTEM VALUE.
        var identityAlways: Bool
        /// A serial or identity column, whose sequence must move past the copied values.
        var sequenced: Bool
    }

    /// PostgreSQL takes at most this many parameters in one statement.
    static let parameterLimit = 65_535

    func run() throws -> DataCopyReport {
        let started = Date()
        // Nothing else writes these tables until the commit (a host started early on the target waits).
        try connection.execute("SET LOCAL lock_timeout = '10s'")
        let columns = try targetColumns()
        let targetTables = columns.keys.sorted()
        if !targetTables.isEmpty {
            try connection.executeScript("LOCK TABLE \(targetTables.map(Self.quoted).joined(separator: ", ")) IN EXCLUSIVE MODE")
        }
        let holding = try Self.tablesHoldingRows(connection)
        guard holding.isEmpty else { throw DataCopyError.targetNotEmpty(holding) }

        let tables = try snapshot.dataTables()
        for table in tables where columns[table] == nil {
            throw DataCopyError.schema("the source's table \(table) is not in the target")
        }
        var report = DataCopyReport()
        for table in try Self.referencedFirst(tables, references: try foreignKeys()) {
            report.tables.append(try copy(table, into: columns[table]!))
        }
        report.sequences = try advanceSequences(columns, copied: Set(tables))

        let (aggregates, recount) = try snapshot.analytics(DataCopy.wholeDeployment)
        report.sourceAggregates = aggregates
        report.sourceRecount = recount
        report.targetAggregates = try PostgresAnalyticsStore.counts(
            connection, table: "analytics_daily", count: "conversations", duration: "duration_seconds", DataCopy.wholeDeployment,
            aggregate: true)
        report.targetRecount = try PostgresAnalyticsStore.recount(connection, DataCopy.wholeDeployment)
        report.seconds = Date().timeIntervalSince(started)
        guard report.differences.isEmpty else { throw DataCopyError.differs(report) }
        return report
    }

    /// Copies one table in multi-row INSERTs of at most `batchSize` rows, and counts it on both sides.
    private func copy(_ table: String, into target: [String: Column]) throws -> DataCopyReport.Table {
        let sourceColumns = try snapshot.columns(of: table)
        for name in sourceColumns where target[name] == nil {
            throw DataCopyError.schema("the source's column \(table).\(name) is not in the target")
        }
        let written = sourceColumns.compactMap { target[$0] }.filter { !$0.generated }
        let source = try snapshot.rowCount(of: table)
        var read = 0
        if !written.isEmpty {
            let rowsPerInsert = max(1, min(batchSize, Self.parameterLimit / written.count))
            let head = "INSERT INTO \(Self.quoted(table)) (\(written.map { Self.quoted($0.name) }.joined(separator: ", ")))"
                + (written.contains(where: \.identityAlways) ? " OVERRIDING SYSTEM VALUE" : "") + " VALUES "
            try snapshot.rows(of: table, columns: written.map(\.name), batchSize: rowsPerInsert) { batch in
                var parameters: [(any PostgresEncodable)?] = []
                parameters.reserveCapacity(batch.count * written.count)
                for (offset, row) in batch.enumerated() {
                    for (column, value) in zip(written, row) {
                        do {
                            parameters.append(try Self.parameter(value, for: column))
                        } catch let problem as ConversionProblem {
                            throw DataCopyError.rejected(
                                "\(table) row \(read + offset + 1)\(Self.identity(row)), column \(column.name): \(problem.message)")
                        }
                    }
                }
                var sql = head
                sql.reserveCapacity(head.count + batch.count * written.count * 8)
                var number = 0
                for index in 0..<batch.count {
                    sql += index == 0 ? "(" : ", ("
                    for column in 0..<written.count {
                        number += 1
                        sql += column == 0 ? "$\(number)" : ", $\(number)"
                    }
                    sql += ")"
                }
                do {
                    try connection.execute(sql, parameters)
                } catch let error as PostgresError {
                    throw DataCopyError.rejected(
                        "PostgreSQL refused \(table) rows \(read + 1)-\(read + batch.count): \(error.description)")
                }
                read += batch.count
            }
        }
        let target: Int = try connection.query("SELECT count(*) AS n FROM \(Self.quoted(table))")[0]["n"]
        progress("copied \(table): \(target) row\(target == 1 ? "" : "s")")
        return DataCopyReport.Table(name: table, source: source, read: read, target: target)
    }

    struct ConversionProblem: Error { let message: String }

    /// A source value as a parameter for a column of `column.type`: SQLite's 0/1 for a boolean, a blob's
    /// bytes for bytea (sent in binary), numbers and text as they are.
    static func parameter(_ value: TableValue, for column: Column) throws -> (any PostgresEncodable)? {
        switch (column.type, value) {
        case (_, .null):
            return nil
        case ("boolean", .integer(let number)):
            guard number == 0 || number == 1 else { throw ConversionProblem(message: "\(number) is not a boolean (0 or 1)") }
            return number == 1
        case ("boolean", _):
            throw ConversionProblem(message: "\(describe(value)) is not a boolean (0 or 1)")
        case ("bytea", .blob(let bytes)):
            return bytes
        case ("bytea", .text(let text)):
            return Array(text.utf8)
        case ("smallint", .integer(let number)), ("integer", .integer(let number)), ("bigint", .integer(let number)):
            return Int(number)
        case ("smallint", .real(let number)), ("integer", .real(let number)), ("bigint", .real(let number)):
            guard let exact = Int(exactly: number) else { throw ConversionProblem(message: "\(number) is not an integer") }
            return exact
        case ("double precision", .real(let number)), ("real", .real(let number)):
            return number
        case ("double precision", .integer(let number)), ("real", .integer(let number)), ("numeric", .integer(let number)):
            return Int(number)
        case (_, .text(let text)):
            guard !text.utf8.contains(0) else { throw ConversionProblem(message: "the text holds a NUL character, which PostgreSQL cannot store") }
            return text
        case (_, .integer(let number)):
            return Int(number)
        case (_, .real(let number)):
            return number
        case (_, .blob(let bytes)):
            guard let text = String(validating: bytes, as: UTF8.self), !bytes.contains(0) else {
                throw ConversionProblem(message: "\(bytes.count) bytes of binary data for a \(column.type) column")
            }
            return text
        }
    }

    static func describe(_ value: TableValue) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let number): String(number)
        case .real(let number): String(number)
        case .text(let text): "the text \"\(text.prefix(40))\""
        case .blob(let bytes): "\(bytes.count) bytes of binary data"
        }
    }

    /// The row's first value (its id in every table of the schema), for messages.
    static func identity(_ row: [TableValue]) -> String {
        if case .text(let id)? = row.first { return " (\(id.prefix(60)))" }
        return ""
    }

    /// The columns of every table of the public schema but `schema_migrations`.
    private func targetColumns() throws -> [String: [String: Column]] {
        let result = try connection.query(
            """
            SELECT c.table_name, c.column_name, c.data_type, c.is_generated, c.is_identity, c.identity_generation,
                   coalesce(c.column_default LIKE 'nextval(%', false) AS serial
            FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name <> 'schema_migrations'
            """)
        var tables: [String: [String: Column]] = [:]
        for row in result.rows {
            let table: String = try row["table_name"], name: String = try row["column_name"]
            let identity: String = try row["is_identity"], generation: String? = try row["identity_generation"]
            let generated: String = try row["is_generated"], serial: Bool = try row["serial"]
            tables[table, default: [:]][name] = Column(
                name: name, type: try row["data_type"], generated: generated == "ALWAYS",
                identityAlways: identity == "YES" && generation == "ALWAYS", sequenced: serial || identity == "YES")
        }
        return tables
    }

    /// (table, table it references) for every foreign key of the public schema.
    private func foreignKeys() throws -> [(String, String)] {
        try connection.query(
            """
            SELECT child.relname AS child, parent.relname AS parent
            FROM pg_constraint k
            JOIN pg_class child ON child.oid = k.conrelid
            JOIN pg_class parent ON parent.oid = k.confrelid
            WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
            """
        ).rows.map { (try $0["child"], try $0["parent"]) }
    }

    /// `tables` ordered so that each comes after every table it references, otherwise in the given order.
    static func referencedFirst(_ tables: [String], references: [(String, String)]) throws -> [String] {
        let present = Set(tables)
        var waitingFor: [String: Set<String>] = [:]
        for (child, parent) in references where child != parent && present.contains(child) && present.contains(parent) {
            waitingFor[child, default: []].insert(parent)
        }
        var ordered: [String] = [], done = Set<String>()
        while ordered.count < tables.count {
            guard let next = tables.first(where: { !done.contains($0) && waitingFor[$0, default: []].isSubset(of: done) }) else {
                let left = tables.filter { !done.contains($0) }
                throw DataCopyError.schema("the foreign keys of \(left.joined(separator: ", ")) form a cycle")
            }
            ordered.append(next)
            done.insert(next)
        }
        return ordered
    }

    /// Moves the sequence of every serial or identity column of a copied table past the largest value
    /// copied, so the next row the service inserts does not collide. Returns `table.column -> next value`.
    private func advanceSequences(_ columns: [String: [String: Column]], copied: Set<String>) throws -> [String] {
        var moved: [String] = []
        for table in columns.keys.sorted() where copied.contains(table) {
            for column in columns[table]!.values.sorted(by: { $0.name < $1.name }) where column.sequenced {
                let next: Int? = try connection.query(
                    """
                    SELECT setval(pg_get_serial_sequence($1, $2),
                                  coalesce((SELECT max(\(Self.quoted(column.name))) FROM \(Self.quoted(table))), 0) + 1, false) AS next
                    """,
                    [Self.quoted(table), column.name])[0]["next"]
                if let next { moved.append("\(table).\(column.name) -> \(next)") }
            }
        }
        return moved
    }

    /// The tables of the public schema (but `schema_migrations`) holding at least one row, as `name (rows)`.
    static func tablesHoldingRows(_ connection: PostgresConnection) throws -> [String] {
        let tables: [String] = try connection.query(
            """
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
            ORDER BY table_name
            """
        ).rows.map { try $0["table_name"] }
        var holding: [String] = []
        for table in tables {
            let rows: Int = try connection.query("SELECT count(*) AS n FROM \(quoted(table))")[0]["n"]
            if rows > 0 { holding.append("\(table) (\(rows) row\(rows == 1 ? "" : "s"))") }
        }
        return holding
    }

    /// An identifier read from the catalog, quoted.
    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
