import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Turns a Vapi-style `end-of-call-report` (or a call object from the platform's call list) into a
/// conversation. Real senders put fields in several places; every one is read (PROVIDER-NOTES).
public enum CallIngestion {
    /// endedReason values that mean the call did not get anywhere.
    public static let failedReasons: Set<String> = [
        "customer-busy", "customer-did-not-answer", "silence-timed-out", "voicemail", "assistant-error",
        "assistant-not-found", "twilio-failed-to-connect-call", "vonage-failed-to-connect-call",
    ]

    public struct Parsed {
        public var record: ConversationRecord
        public var messages: [ConversationMessage]
    }

    /// `message` is the webhook's `message` object; for an imported call, the call object itself.
    public static func parse(_ message: JSONValue, _ context: AppContext) throws -> Parsed? {
        let call = message["call"] ?? message
        guard let id = call["id"]?.stringValue, !id.isEmpty else {
            throw ValidationFailure("Missing required field: message.call.id")
        }
        guard id.utf8.count <= 100 else { throw ValidationFailure("Invalid value for field: message.call.id") }

        let assistantRef = call["assistantId"]?.stringValue ?? message["assistant"]?["id"]?.stringValue
        let numberRef = call["phoneNumberId"]?.stringValue ?? message["phoneNumber"]?["id"]?.stringValue
        let assistant = try assistantRef.flatMap { try context.resources.owner(.assistants, id: $0) }
        let phoneNumber = try numberRef.flatMap { try context.resources.owner(.phoneNumbers, id: $0) }
        // The call's organisation is its assistant's (or number's); a single-organisation deployment
        // takes calls of assistants it does not know too.
        guard let orgId = try assistant?.orgId ?? phoneNumber?.orgId ?? context.resources.soleOrganizationId() else { return nil }

        let artifact = message["artifact"] ?? call["artifact"]
        let analysis = message["analysis"] ?? call["analysis"]
        let startedAt = date(message["startedAt"] ?? call["startedAt"])
        let endedAt = date(message["endedAt"] ?? call["endedAt"])
        let createdAt = date(call["createdAt"]) ?? startedAt ?? date(message["timestamp"]) ?? context.now
        var duration = number(message["durationSeconds"]) ?? number(message["durationMs"]).map { $0 / 1000 }
        if duration == nil, let s = startedAt, let e = endedAt { duration = e.timeIntervalSince(s) }

        let rawMessages: [JSONValue]
        if case .array(let items)? = artifact?["messages"] ?? message["messages"] { rawMessages = items } else { rawMessages = [] }
        let stamp = Timestamp.format(createdAt)
        let messages = rawMessages.compactMap { item -> ConversationMessage? in
            let role: ConversationMessage.Role
            switch item["role"]?.stringValue {
            case "user": role = .user
            case "bot", "assistant": role = .assistant
            default: return nil
            }
            guard let text = item["message"]?.stringValue ?? item["content"]?.stringValue else { return nil }
            let time = number(item["time"]).map { Timestamp.format(Date(timeIntervalSince1970: $0 / 1000)) } ?? stamp
            return ConversationMessage(role: role, content: text, createdAt: time)
        }

        let endedReason = (message["endedReason"] ?? call["endedReason"])?.stringValue
        let summary = (analysis?["summary"] ?? message["summary"])?.stringValue
        var success: String?
        switch analysis?["successEvaluation"] {
        case .bool(let b)?: success = b ? "true" : "false"
        case .string(let s)?: success = s.lowercased()
        case .int(let i)?: success = String(i)
        default: success = nil
        }
        let declared = analysis?["structuredData"]?["sentiment"]?.stringValue.flatMap { Sentiment(rawValue: $0.lowercased()) }
        let sentiment = declared ?? ConversationAnalysis.sentiment(of: messages)
        let type = call["type"]?.stringValue ?? (phoneNumber != nil ? "inboundPhoneCall" : "webCall")
        let recording = artifact?["recording"]
        let record = ConversationRecord(
            id: id, orgId: orgId, assistantId: assistant?.localId ?? assistantRef, phoneNumberId: phoneNumber?.localId ?? numberRef,
            channel: type.lowercased().contains("phone") ? .phone : .web, type: type, status: .ended,
            endedReason: endedReason, startedAt: Timestamp.format(startedAt ?? createdAt),
            endedAt: endedAt.map(Timestamp.format), lastActivityAt: Timestamp.format(endedAt ?? createdAt),
            durationSeconds: max(0, Int((duration ?? 0).rounded())), sentiment: sentiment,
            resolution: resolution(endedReason: endedReason, success: success), summary: summary, successEvaluation: success,
            transcript: (artifact?["transcript"] ?? message["transcript"])?.stringValue,
            recordingUrl: (recording?["mono"]?["combinedUrl"] ?? artifact?["recordingUrl"] ?? message["recordingUrl"])?.stringValue,
            stereoRecordingUrl: (recording?["stereoUrl"] ?? artifact?["stereoRecordingUrl"] ?? message["stereoRecordingUrl"])?.stringValue,
            customerNumber: (message["customer"]?["number"] ?? call["customer"]?["number"])?.stringValue,
            cost: number(message["cost"] ?? call["cost"]), providerChatId: nil, unanswered: 0,
            createdAt: Timestamp.format(createdAt), updatedAt: Timestamp.format(context.now),
            // When the report was made; without a timestamp, the call's own end, so a resent report still
            // compares equal and changes nothing.
            reportedAt: Timestamp.format(date(message["timestamp"]) ?? endedAt
                ?? startedAt.map { $0.addingTimeInterval(duration ?? 0) } ?? createdAt))
        return Parsed(record: record, messages: messages)
    }

    /// escalated: the assistant forwarded the call; failed: the call ended in error or without reaching
    /// anyone (`failedReasons`, `pipeline-error-*`), or the analysis judged it unsuccessful; else resolved.
    public static func resolution(endedReason: String?, success: String?) -> Resolution {
        let reason = endedReason ?? ""
        if reason == "assistant-forwarded-call" || reason.contains("transfer") { return .escalated }
        if failedReasons.contains(reason) || reason.hasPrefix("pipeline-error") || reason.contains("failed") { return .failed }
        if success == "false" { return .failed }
        return .resolved
    }

    public static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let i)?: Double(i)
        case .double(let d)?: d
        case .string(let s)?: Double(s)
        default: nil
        }
    }

    /// ISO 8601 text, or milliseconds since 1970.
    public static func date(_ value: JSONValue?) -> Date? {
        switch value {
        case .string(let s)?: Timestamp.parse(s)
        case .int(let ms)?: Date(timeIntervalSince1970: Double(ms) / 1000)
        case .double(let ms)?: Date(timeIntervalSince1970: ms / 1000)
        default: nil
        }
    }
}
