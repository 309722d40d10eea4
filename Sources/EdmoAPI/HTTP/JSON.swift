import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

extension JSON {
    /// Decodes a request body (parsed once, then read as `T`), turning decoder failures into 400s that name the
    /// field.
    public static func decode<T: Decodable>(_ type: T.Type, from request: Request) throws -> T {
        guard !request.body.isEmpty else { throw APIError.badRequest("Request body is required") }
        do {
            return try decode(T.self, from: try JSONValue.parse(request.body))
        } catch let error as DecodingError {
            throw APIError.badRequest(describe(error))
        } catch let error as APIError {
            throw error
        } catch let error as ValidationFailure {
            throw error
        } catch {
            throw APIError.badRequest("Malformed JSON body")
        }
    }

}
