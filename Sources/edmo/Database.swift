import EdmoPostgres
import EdmoService
import EdmoSQLite
import EdmoStore

/// The database a deployment runs on, chosen at start-up by `EDMO_DATABASE`: a SQLite file (the default,
/// nothing to run) or a PostgreSQL server (several hosts, one database). Everything above the store
/// protocols is the same on both.
enum Database {
    case sqlite(EdmoDatabase)
    case postgres(PostgresDatabase)

    /// Opens it and applies every migration this build has that it lacks (`migrations/` for SQLite,
    /// `migrations/postgres/` for PostgreSQL).
    /// `onCommit` hears the duration of every committed write transaction (the metrics of `edmo serve`).
    static func open(
        _ config: Config, migrations folder: String, onCommit: (@Sendable (Duration) -> Void)? = nil
    ) throws -> Database {
        if config.isPostgres {
            let database = try PostgresDatabase(url: config.database, poolSize: config.poolSize, onCommit: onCommit)
            try report(database.migrate(try Migration.load(from: Migration.postgres(in: folder))))
            return .postgres(database)
        }
        let database = try EdmoDatabase(path: config.database, onCommit: onCommit)
        try report(database.migrate(try Migration.load(from: folder)))
        return .sqlite(database)
    }

    private static func report(_ applied: [String]) {
        if !applied.isEmpty { Logger.stderr.info("applied migrations: \(applied.joined(separator: ", "))") }
    }

    var stores: Stores {
        switch self {
        case .sqlite(let database): database.stores
        case .postgres(let database): database.stores
        }
    }

    func appliedMigrations() throws -> [String] {
        switch self {
        case .sqlite(let database): try database.appliedMigrations()
        case .postgres(let database): try database.appliedMigrations()
        }
    }
}
