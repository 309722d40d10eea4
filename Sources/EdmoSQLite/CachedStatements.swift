import GRDB

extension GRDB.Database {
    /// `execute(sql:arguments:)` with the statement compiled once per connection and kept (GRDB's statement
    /// cache), for what requests run again and again: compiling was a tenth of a write's SQLite time. One
    /// statement whose values are bound; only fixed text (a table's name) may be interpolated.
    func execute(cached sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
