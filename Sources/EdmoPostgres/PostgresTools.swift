import CLibPQ
import EdmoStore
import Foundation

/// PostgreSQL's own client programs (`pg_dump`, `pg_restore`), run as child processes for `edmo backup`
/// and `edmo restore`. They connect with the deployment's `EDMO_DATABASE`, split so that its password
/// travels in the child's environment (`PGPASSWORD`) and never on a command line, where every user of the
/// machine could read it (`ps`).
public struct PostgresTools: Sendable {
    /// The folder holding `pg_dump` and `pg_restore`.
    public let folder: String

    public init(folder: String) { self.folder = folder }

    /// The newest `/usr/lib/postgresql/<version>/bin` (Debian's layout; a newer pg_dump reads an older
    /// server, never the reverse), else the first folder of PATH that holds `pg_dump`.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresTools {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name in Double(name).map { (name, $0) } }
            .sorted { $0.1 > $1.1 }
            .map { "\(root)/\($0.0)/bin" }
        let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for folder in versions + path
        where FileManager.default.isExecutableFile(atPath: folder + "/pg_dump")
            && FileManager.default.isExecutableFile(atPath: folder + "/pg_restore") {
            return PostgresTools(folder: folder)
        }
        throw BackupError.tool("cannot find pg_dump and pg_restore (in /usr/lib/postgresql/*/bin or on PATH): apt-get install postgresql-client")
    }

    /// A connection for the tools: `conninfo` (libpq `key='value'` pairs, the password left out) and the
    /// environment to run them in (this process's, with `PGPASSWORD` when the URL held a password).
    public struct Connection: Sendable {
        public var conninfo: String
        public var environment: [String: String]
    }

    public static func connection(
        _ url: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Connection {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &error) else {
            let message = error.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "out of memory"
            if let error { PQfreemem(error) }
            throw BackupError.unreadable("EDMO_DATABASE is not a PostgreSQL connection string libpq can read: \(message)")
        }
        defer { PQconninfoFree(options) }
        var pairs: [String] = [], password: String?
        var index = 0
        while let keyword = options[index].keyword {
            defer { index += 1 }
            guard let value = options[index].val else { continue }
            let key = String(cString: keyword), text = String(cString: value)
            if key == "password" { password = text } else { pairs.append("\(key)=\(quoted(text))") }
        }
        var environment = environment
        if let password { environment["PGPASSWORD"] = password }
        return Connection(conninfo: pairs.joined(separator: " "), environment: environment)
    }

    /// A value in libpq's `key='value'` syntax: single quotes, with `\` and `'` escaped by a backslash.
    static func quoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// What a tool printed, and how it ended.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String
    }

    /// Runs `folder/tool` with `arguments` in `environment`; both outputs are read while it runs (a full pipe
    /// would stop it). Throws `BackupError.tool` with its error output when it fails.
    @discardableResult
    public func run(_ tool: String, _ arguments: [String], environment: [String: String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: folder + "/" + tool)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BackupError.tool("cannot run \(folder)/\(tool): \(error)")
        }
        let errors = Collected(err.fileHandleForReading)
        let reader = Thread { errors.data = errors.handle.readDataToEndOfFile(); errors.done.signal() }
        reader.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        errors.done.wait()
        process.waitUntilExit()
        let output = Output(
            status: process.terminationStatus, stdout: stdout,
            stderr: String(decoding: errors.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        guard process.terminationReason == .exit, output.status == 0 else {
            throw BackupError.tool("\(tool) failed (exit \(output.status)): \(output.stderr.isEmpty ? "no message" : output.stderr)")
        }
        return output
    }

    /// The error output, read to its end by the reader thread, which then signals; read after the signal only.
    private final class Collected: @unchecked Sendable {
        let handle: FileHandle
        var data = Data()
        let done = DispatchSemaphore(value: 0)
        init(_ handle: FileHandle) { self.handle = handle }
    }
}
