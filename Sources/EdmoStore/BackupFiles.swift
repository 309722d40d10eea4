import Foundation

/// The files of `edmo backup`: each written beside its final name and renamed into place once durable, so
/// a crash or a full disk never leaves half a backup under the name; and, for `--to-dir`, timestamped
/// names (`edmo-20260101T031500Z.sqlite`) of which only the newest are kept.
public enum BackupFiles {
    /// `edmo-YYYYMMDDTHHMMSSZ.<ext>`, UTC: names sort as their times do.
    public static func name(_ kind: BackupKind, at date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let stamp = String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        return "edmo-\(stamp).\(kind.fileExtension)"
    }

    /// Whether `name` is one that `name(_:at:)` makes: the only files `prune` ever removes.
    public static func isOwn(_ name: String) -> Bool {
        name.range(of: #"^edmo-[0-9]{8}T[0-9]{6}Z\.(sqlite|pgdump)$"#, options: .regularExpression) != nil
    }

    /// Removes all but the newest `keep` of this command's own files in `directory` (of either kind: a
    /// deployment that moved store keeps N backups in all), and the temporary files of its runs that died
    /// (a crash, a power cut: their process is gone); any other file is left alone. Returns the names
    /// removed, oldest first, then the leftovers.
    @discardableResult
    public static func prune(directory: String, keep: Int) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        let own = names.filter(isOwn).sorted()
        let leftovers = names.filter { name in
            guard let pid = leftoverProcess(name) else { return false }
            return kill(pid, 0) != 0 && errno == ESRCH
        }.sorted()
        let removed = Array(own.dropLast(max(0, keep))) + leftovers
        for name in removed { try FileManager.default.removeItem(atPath: directory + "/" + name) }
        return removed
    }

    /// The process that was writing `name`, when it is the temporary file of one of this command's own
    /// files (`.edmo-20260101T023000Z.sqlite.partial-1234`).
    static func leftoverProcess(_ name: String) -> pid_t? {
        guard name.hasPrefix("."), let mark = name.range(of: ".partial-"),
              isOwn(String(name[name.index(after: name.startIndex)..<mark.lowerBound]))
        else { return nil }
        return pid_t(name[mark.upperBound...])
    }

    /// The temporary name `write` gives the file being made: hidden, beside `path`, per process.
    public static func temporary(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)").path
    }

    /// Has `produce` write the file at a temporary path beside `path` (a path that does not exist yet),
    /// makes it readable by its owner only, flushes it to disk, renames it to `path` (replacing an older
    /// file of that name only now) and flushes the directory. On any failure the temporary file is removed
    /// and `path` is as it was. Returns the file's size in bytes.
    @discardableResult
    public static func write(to path: String, _ produce: (String) throws -> Void) throws -> Int {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupError.unreadable("there is no directory \(directory) to write \(path) in")
        }
        let temporary = Self.temporary(for: path)
        unlink(temporary)
        do {
            try produce(temporary)
            guard chmod(temporary, 0o600) == 0 else { throw BackupError.tool("cannot restrict \(temporary): \(errorText())") }
            try Self.sync(temporary, what: "the backup")
            guard rename(temporary, path) == 0 else { throw BackupError.tool("cannot rename \(temporary) to \(path): \(errorText())") }
        } catch {
            unlink(temporary)
            throw error
        }
        try Self.sync(directory, what: "its directory")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.size] as? NSNumber)?.intValue ?? 0
    }

    /// fsync of a file or a directory (which makes a rename in it durable).
    public static func sync(_ path: String, what: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BackupError.tool("cannot open \(what) (\(path)) to flush it: \(errorText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw BackupError.tool("cannot flush \(what) (\(path)) to disk: \(errorText())") }
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
