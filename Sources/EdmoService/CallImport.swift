import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// `edmo import-calls --since DATE`: pages through the platform's `GET /call` oldest first and ingests
/// every call as a webhook report would be. The cursor (the last call's createdAt) is saved after each
/// page, so a stopped import resumes where it was; ingestion is idempotent by call id either way.
public enum CallImport {
    public static let cursorName = "provider-calls"

    /// Returns how many calls were stored or changed.
    public static func run(_ context: AppContext, since: Date, pageSize: Int = 100, log: (String) -> Void) throws -> Int {
        guard let platform = context.platform else {
            throw ConfigError(description: "EDMO_PROVIDER is not vapi: there is no platform to import calls from")
        }
        var cursor = try context.analytics.importCursor(cursorName).flatMap(Timestamp.parse) ?? since
        if cursor < since { cursor = since }
        var stored = 0
        while true {
            let page = try platform.listCalls(createdAfter: Timestamp.format(cursor), limit: pageSize)
                .sorted { ($0["createdAt"]?.stringValue ?? "") < ($1["createdAt"]?.stringValue ?? "") }
            for call in page {
                if let parsed = try CallIngestion.parse(call, context), try CallIngestion.store(parsed, context) {
                    stored += 1
                }
                if let created = call["createdAt"]?.stringValue.flatMap(Timestamp.parse), created > cursor { cursor = created }
            }
            try context.analytics.setImportCursor(cursorName, Timestamp.format(cursor))
            log("imported \(page.count) calls up to \(Timestamp.format(cursor))")
            if page.count < pageSize { return stored }
        }
    }
}
