import Foundation

/// A client's `If-Match`: a change applies only to the version it names. A resource's ETag is its version.
public struct IfMatch: Sendable {
    public let header: String

    public init(_ header: String) { self.header = header }

    public static func tag(_ version: Int) -> String { "\"\(version)\"" }

    /// Throws `VersionMismatch` unless the header names `version` or `*`.
    public func check(_ version: Int) throws {
        // nginx's gzip marks the ETag weak (W/"3") when it compresses a response; the version behind it is
        // the same, so a weak tag names it as well.
        let tags = header.split(separator: ",").map { tag in
            let trimmed = tag.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("W/") ? String(trimmed.dropFirst(2)) : trimmed
        }
        guard tags.contains("*") || tags.contains(Self.tag(version)) else { throw VersionMismatch() }
    }

    /// The version a conditional delete must match: the one read (`*` only asks that the resource exist).
    public func deleteVersion(read version: Int) -> Int? {
        header.trimmingCharacters(in: .whitespaces) == "*" ? nil : version
    }
}

/// The resource has changed since the client read it: its If-Match names an older version (412).
public struct VersionMismatch: Error, Equatable, Sendable {
    public init() {}
}
