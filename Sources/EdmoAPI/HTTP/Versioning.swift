import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// Optimistic concurrency for clients: a single resource's `ETag` is its version, and `If-Match` on
/// PATCH or DELETE makes the change conditional on it (412 when the resource has moved on).
enum ETag {
    static func value(_ version: Int) -> String { IfMatch.tag(version) }

    static func ifMatch(_ request: Request) -> IfMatch? { request.header("if-match").map(IfMatch.init) }

    /// Throws `VersionMismatch` (412) when the request carries an If-Match that names neither `version` nor `*`.
    static func check(_ request: Request, version: Int) throws { try ifMatch(request)?.check(version) }

    static let changed = APIError(412, "The resource has changed since you read it (If-Match does not match its ETag); read it again and retry")

    /// The version a conditional delete must match: the one read, when the client named one in If-Match.
    static func deleteVersion(_ request: Request, read version: Int) -> Int? {
        ifMatch(request)?.deleteVersion(read: version)
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
