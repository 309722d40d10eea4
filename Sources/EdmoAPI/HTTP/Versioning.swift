import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// Optimistic concurrency for clients: a single resource's `ETag` is its version, and `If-Match` on
/// PATCH or DELETE makes the change conditional on it (412 when the resource has moved on).
enum ETag {
    static func value(_ version: Int) -> String { "\"\(version)\"" }

    /// Throws 412 when the request carries an If-Match that names neither `version` nor `*`.
    static func check(_ request: Request, version: Int) throws {
        guard let header = request.header("if-match") else { return }
        // nginx's gzip marks the ETag weak (W/"3") when it compresses a response; the version behind it is
        // the same, so a weak tag names it as well.
        let tags = header.split(separator: ",").map { tag in
            let trimmed = tag.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("W/") ? String(trimmed.dropFirst(2)) : trimmed
        }
        guard tags.contains("*") || tags.contains(value(version)) else { throw changed }
    }

    static let changed = APIError(412, "The resource has changed since you read it (If-Match does not match its ETag); read it again and retry")

    /// The version a conditional delete must match: the one read, when the client named one in If-Match
    /// (`*` only asks that the resource exist).
    static func deleteVersion(_ request: Request, read version: Int) -> Int? {
        guard let header = request.header("if-match"), header.trimmingCharacters(in: .whitespaces) != "*" else { return nil }
        return version
    }
}

extension Response {
    mutating func setETag(_ version: Int) { addHeader("ETag", ETag.value(version)) }

    func withETag(_ version: Int) -> Response {
        var copy = self
        copy.setETag(version)
        return copy
    }
}
