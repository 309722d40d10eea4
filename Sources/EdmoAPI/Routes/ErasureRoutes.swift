import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// POST /api/erasures (addition): an ADMIN erases one person's conversations in their own organisation,
/// by `phoneNumber` (the caller's number on calls) or by `chatId` (a web chat). Exactly one of the two.
/// Erasing nothing is a 200 with zero counts: the answer does not tell whether someone had conversations
/// in another organisation.
enum ErasureRoutes {
    struct Answer: Encodable {
        struct Erased: Encodable { let conversations, messages: Int }
        let erased: Erased
    }

    static func erase(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.users, .write, request, context)
        let fields = try StrictBody.object(request, allowed: ["phoneNumber", "chatId"])
        func text(_ name: String) throws -> String? {
            switch fields[name] {
            case nil: return nil
            case .string(let value)?: return value
            default: throw ValidationFailure("Invalid value for field: \(name) (a string)")
            }
        }
        let selector = try Erasure.selector(phoneNumber: try text("phoneNumber"), chatId: try text("chatId"))
        let result = try Erasure.run(context, orgId: principal.orgId, selector, by: principal.origin(request))
        return try Response.json(Answer(erased: .init(conversations: result.removed.conversations, messages: result.removed.messages)))
    }
}
