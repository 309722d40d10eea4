import EdmoCore
import EdmoStore
import Foundation

/// Outbound events (README "Outbound events"): the envelope `{"id", "type", "createdAt", "data"}` built at
/// the change, given to the store that writes it in the change's own transaction.
public enum OutboundEvents {
    public static func make(_ context: AppContext, orgId: String, type: String, subject: String, data: JSONValue) throws -> OutboxEvent {
        let id = context.ids.next("evt")
        let createdAt = Timestamp.format(context.now)
        let envelope = JSONValue.object([
            "id": .string(id), "type": .string(type), "createdAt": .string(createdAt), "orgId": .string(orgId), "data": data,
        ])
        return OutboxEvent(
            id: id, orgId: orgId, type: type, subject: subject, payload: String(decoding: try JSON.encode(envelope), as: UTF8.self),
            createdAt: createdAt)
    }

    /// `assistant.created|updated|deleted`: the assistant as the API shows it (deleted: its id). The stored
    /// body is the API's JSON already: it goes into the envelope as it is, neither parsed nor encoded again
    /// (that was a seventh of an assistant write's CPU, spent on organisations that have no endpoint too).
    public static func assistant(_ context: AppContext, _ type: String, _ record: DocumentRecord, deleted: Bool = false) throws -> OutboxEvent {
        let id = context.ids.next("evt")
        let createdAt = Timestamp.format(context.now)
        let data = deleted ? JSONText.object(["id": .string(record.id)]) : record.body
        let envelope = JSONText.object([
            "createdAt": .string(createdAt), "data": .raw(data), "id": .string(id), "orgId": .string(record.orgId), "type": .string(type),
        ])
        return OutboxEvent(id: id, orgId: record.orgId, type: type, subject: record.id, payload: envelope, createdAt: createdAt)
    }

    /// `conversation.ended` and `call.ingested`: the conversation and its analysis, never its transcript.
    public static func conversation(_ context: AppContext, _ type: String, _ c: ConversationRecord) throws -> OutboxEvent {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        let data = JSONValue.object([
            "id": .string(c.id), "assistantId": text(c.assistantId), "phoneNumberId": text(c.phoneNumberId),
            "channel": .string(c.channel.rawValue), "status": .string(c.status.rawValue), "startedAt": .string(c.startedAt),
            "endedAt": text(c.endedAt), "endedReason": text(c.endedReason), "durationSeconds": .int(c.durationSeconds),
            "cost": c.cost.map(JSONValue.double) ?? .null,
            "analysis": .object([
                "summary": text(c.summary), "successEvaluation": text(c.successEvaluation),
                "sentiment": text(c.sentiment?.rawValue), "resolution": text(c.resolution?.rawValue),
            ]),
        ])
        return try make(context, orgId: c.orgId, type: type, subject: c.id, data: data)
    }

    /// `knowledge_gap.created`: the new gap (only a new one: a repeated question adds an occurrence).
    public static func gap(
        _ context: AppContext, orgId: String, id: String, assistantId: String, question: String, conversationId: String
    ) throws -> OutboxEvent {
        let data = JSONValue.object([
            "id": .string(id), "assistantId": .string(assistantId), "question": .string(question),
            "conversationId": .string(conversationId), "status": .string("pending"),
        ])
        return try make(context, orgId: orgId, type: EventType.knowledgeGapCreated, subject: conversationId, data: data)
    }

    // MARK: signature

    /// `Edmo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" keyed by the secret>`, with a second
    /// `v1=` by the previous secret while a rotation's grace period lasts.
    public static func signature(body: [UInt8], secrets: [String], at time: Date) -> String {
        let t = String(Int(time.timeIntervalSince1970))
        let signed = Array((t + ".").utf8) + body
        return (["t=" + t] + secrets.map { "v1=" + Tokens.hmacSHA256Hex(key: $0, message: signed) }).joined(separator: ",")
    }

    // MARK: schedule

    /// Delay before attempt `attempts + 1` after `attempts` failed ones: `base * 2^(attempts-1)`, at most
    /// `base * 480` (4 h at the default 30 s), times a jitter in 0.9...1.1 (`jitter` in 0...1). With the
    /// defaults (16 attempts) the retries span 25.4-31.1 h.
    public static func retryDelay(afterAttempt attempts: Int, baseMilliseconds: Int, jitter: Double) -> TimeInterval {
        let base = Double(baseMilliseconds) / 1000
        let exponential = base * pow(2, Double(min(max(attempts - 1, 0), 20)))
        return min(exponential, base * 480) * (0.9 + 0.2 * min(max(jitter, 0), 1))
    }
}
