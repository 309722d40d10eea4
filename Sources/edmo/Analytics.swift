import EdmoCore
import EdmoService
import EdmoProviders
import EdmoSQLite
import EdmoStore
import ArgumentParser
import EdmoAPI
import Foundation

struct AnalyticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics", abstract: "Maintain the analytics aggregates.", subcommands: [Rebuild.self])

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recompute every daily and hourly aggregate from the conversations and the counts of those removed (retention, erasure).")
        func run() throws {
            let config = try Startup.config(needsSecretKey: false)
            let database = try Startup.database(config)
            try AppContext(config: config, stores: database.stores).analytics.rebuildAggregates()
            print("analytics aggregates rebuilt")
        }
    }
}

struct ImportCalls: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-calls",
        abstract: "Backfill conversations from the voice platform's call list (EDMO_PROVIDER=vapi); resumable.")

    @Option(help: "Import calls created after this date (YYYY-MM-DD or ISO 8601), unless a saved cursor is later.")
    var since: String

    func run() throws {
        guard let date = Timestamp.parse(since) ?? Timestamp.parse(since + "T00:00:00Z") else {
            throw ValidationError("--since wants a date such as 2024-01-01")
        }
        let config = try Startup.config(needsSecretKey: true)
        let context = AppContext(config: config, stores: try Startup.database(config).stores)
        let stored = try CallImport.run(context, since: date) { print($0) }
        print("stored or updated \(stored) conversations")
    }
}
