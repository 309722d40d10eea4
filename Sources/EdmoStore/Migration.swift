import Foundation

/// `migrations/NNNN_name.sql` (SQLite) and its twin `migrations/postgres/NNNN_name.sql` (PostgreSQL), with
/// the same identifier: forward-only, never edited once landed, applied in file-name order.
public struct Migration: Sendable, Equatable {
    public let id: String
    public let sql: String

    public init(id: String, sql: String) {
        self.id = id
        self.sql = sql
    }

    public static func load(from directory: String) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".sql") && $0.first?.isNumber == true }
            .sorted()
        guard !files.isEmpty else { throw StoreError.schemaTooNew("no migrations found in \(directory)") }
        return try files.map { file in
            Migration(
                id: String(file.dropLast(4)),
                sql: try String(contentsOfFile: directory + "/" + file, encoding: .utf8))
        }
    }

    /// Where the .sql files are: `EDMO_MIGRATIONS`, else next to an installed binary
    /// (`PREFIX/share/edmo/migrations`), else the source tree the binary was built in.
    public static func locate(configured: String?, executable: String) -> String? {
        if let configured { return configured }
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        let installed = dir.deletingLastPathComponent().appendingPathComponent("share/edmo/migrations").path
        if FileManager.default.fileExists(atPath: installed) { return installed }
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("migrations").path
            if FileManager.default.fileExists(atPath: candidate + "/0001_accounts.sql") { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// The PostgreSQL folder inside the (SQLite) migrations folder that `locate` finds.
    public static func postgres(in folder: String) -> String { folder + "/postgres" }
}
