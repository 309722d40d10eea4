import EdmoCore
import EdmoStore
import Foundation

/// One person's conversations erased on request, within one organisation: by the caller's phone number
/// (`customer_number` of calls) or by a chat's id. Messages, transcripts, recording links and summaries go
/// with the conversation rows, in one transaction that keeps their anonymous counts in the analytics and a
/// SHA-256 of each id, so that a late or resent call report cannot bring them back (`CallIngestion.store`).
public enum Erasure {
    /// What an erasure did, for the answer and the audit log: never the phone number or chat id itself.
    public struct Result: Sendable, Equatable {
        public var orgId: String
        /// The user who asked; nil for `edmo erase`.
        public var actorUserId: String?
        /// `phoneNumber` or `chatId`: which kind of selector was used.
        public var selectorKind: String
        public var removed: RemovedCounts
        public var at: String
    }

    /// The key an erased conversation's id is remembered by. Call ids are the platform's random ids, so the
    /// hash cannot be turned back into one.
    public static func key(conversationId: String) -> String {
        Tokens.sha256Hex("erased-conversation\n\(conversationId)")
    }

    /// Exactly one of the two, as a client gives them (400 naming the field otherwise).
    public static func selector(phoneNumber: String?, chatId: String?) throws -> ErasureSelector {
        // Lengths in Unicode scalars, as the contract's maxLength counts them.
        func checked(_ value: String, _ field: String, max: Int) throws -> String {
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, value.unicodeScalars.count <= max else {
                throw ValidationFailure("Invalid value for field: \(field) (1 to \(max) characters)")
            }
            return trimmed
        }
        switch (phoneNumber, chatId) {
        case (let number?, nil):
            return .phoneNumber(try checked(number, "phoneNumber", max: 100))
        case (nil, let id?):
            return .conversationId(try checked(id, "chatId", max: 200))
        case (nil, nil):
            throw ValidationFailure("Missing required field: phoneNumber or chatId (give exactly one)")
        default:
            throw ValidationFailure("Invalid value for field: chatId (give phoneNumber or chatId, not both)")
        }
    }

    /// Erases, then records the erasure in the audit log as made by `origin`: which kind of selector and
    /// how much went, never the phone number or chat id.
    public static func run(_ context: AppContext, orgId: String, _ selector: ErasureSelector, by origin: AuditOrigin) throws -> Result {
        let now = context.now
        let removed = try context.analytics.erase(orgId: orgId, selector, erasedKey: { key(conversationId: $0) }, now: now)
        if case .conversationId(let id) = selector, !id.isEmpty {
            // Answers kept for Idempotency-Key retries (24 h) hold the chat's text too.
            _ = try context.idempotency.forgetAnswers(containing: id)
        }
        let actorUserId = origin.actor.kind == .user ? origin.actor.id : nil
        context.log.info(
            "erasure by \(selector.kind) in organisation \(orgId) by \(actorUserId ?? "the command line"): "
                + "\(removed.conversations) conversations, \(removed.messages) messages")
        try AuditTrail.record(
            context, origin, action: "erasure.run", target: AuditTarget("organization", orgId),
            changes: [
                "selector": .object(["new": .string(selector.kind)]), "conversations": .object(["new": .int(removed.conversations)]),
                "messages": .object(["new": .int(removed.messages)]),
            ])
        return Result(orgId: orgId, actorUserId: actorUserId, selectorKind: selector.kind, removed: removed, at: Timestamp.format(now))
    }
}

extension CallIngestion {
    /// Stores a parsed call report (webhook or import) unless its call was erased, or is already past its
    /// organisation's retention (`Retention.isExpired`). Returns whether anything changed.
    public static func store(_ parsed: Parsed, _ context: AppContext) throws -> Bool {
        if try Retention.isExpired(parsed.record, context) { return false }
        return try context.analytics.upsertCall(
            parsed.record, messages: parsed.messages, erasedKey: Erasure.key(conversationId: parsed.record.id),
            event: try OutboundEvents.conversation(context, EventType.callIngested, parsed.record))
    }
}
