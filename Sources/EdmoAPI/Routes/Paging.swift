import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

extension Validate {
    /// `limit` (1...1000, default 100) and `offset` (>= 0) from the query string.
    static func page(_ request: Request) throws -> (limit: Int, offset: Int) {
        var limit = 100, offset = 0
        if let raw = request.query["limit"] {
            guard let value = Int(raw), (1...1000).contains(value) else {
                throw ValidationFailure("Invalid value for parameter: limit (1 to 1000)")
            }
            limit = value
        }
        if let raw = request.query["offset"] {
            guard let value = Int(raw), (0...Int(Int32.max)).contains(value) else {
                throw ValidationFailure("Invalid value for parameter: offset (0 to 2147483647)")
            }
            offset = value
        }
        return (limit, offset)
    }
}
