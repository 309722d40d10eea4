import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// GET /api/analytics and GET /api/analytics/{conversationId}, for reporting tools with an API key.
enum AnalyticsRoutes {
    struct Meta: Encodable {
        let timeRangeDays: Int
        let channel, sentiment, resolution: String
        @Nullable var assistantId: String?
        @Nullable var phoneNumberId: String?
        let totalConversationsReturned: Int
    }

    struct Summary: Encodable {
        struct ByChannel: Encodable { let web, phone: Int }
        struct Gaps: Encodable { let totalGaps, highPriorityGaps: Int }
        struct BySentiment: Encodable { let positive, neutral, negative: Int }
        let totalConversations, successfulConversations, failedConversations, successRatePercent: Int
        let totalDurationSeconds, avgDurationSeconds, escalatedConversations, escalationRatePercent, timeSavedHours: Int
        let byChannel: ByChannel
        let knowledgeGaps: Gaps
        /// Addition: conversations per sentiment.
        let bySentiment: BySentiment
    }

    struct Customer: Encodable { @Nullable var number: String? }

    struct Analysis: Encodable {
        @Nullable var summary: String?
        @Nullable var successEvaluation: String?
    }

    struct Conversation: Encodable {
        let id, timestamp: String
        let timestampFormatted: String?
        let type: String
        let channel: ConversationChannel
        let status: ConversationStatus
        let endedReason: String?
        let durationSeconds: Int
        let durationFormatted: String
        let sentiment: Sentiment?
        let resolution: Resolution?
        let assistantId, phoneNumberId: String?
        let customer: Customer
        let analysis: Analysis

        init(_ c: ConversationRecord) {
            id = c.id; timestamp = c.createdAt; timestampFormatted = AnalyticsFormat.timestamp(c.createdAt)
            type = c.type; channel = c.channel; status = c.status; endedReason = c.endedReason
            durationSeconds = c.durationSeconds; durationFormatted = AnalyticsFormat.duration(c.durationSeconds)
            sentiment = c.sentiment; resolution = c.resolution
            assistantId = c.assistantId; phoneNumberId = c.phoneNumberId
            customer = Customer(number: c.customerNumber)
            analysis = Analysis(summary: c.summary, successEvaluation: c.successEvaluation)
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id); try c.encode(timestamp, forKey: .timestamp)
            try c.encode(timestampFormatted, forKey: .timestampFormatted); try c.encode(type, forKey: .type)
            try c.encode(channel, forKey: .channel); try c.encode(status, forKey: .status)
            try c.encode(endedReason, forKey: .endedReason); try c.encode(durationSeconds, forKey: .durationSeconds)
            try c.encode(durationFormatted, forKey: .durationFormatted)
            try c.encodeIfPresent(sentiment, forKey: .sentiment); try c.encodeIfPresent(resolution, forKey: .resolution)
            try c.encode(assistantId, forKey: .assistantId); try c.encode(phoneNumberId, forKey: .phoneNumberId)
            try c.encode(customer, forKey: .customer); try c.encode(analysis, forKey: .analysis)
        }
        enum CodingKeys: String, CodingKey {
            case id, timestamp, timestampFormatted, type, channel, status, endedReason, durationSeconds, durationFormatted
            case sentiment, resolution, assistantId, phoneNumberId, customer, analysis
        }
    }

    struct Overview: Encodable {
        let meta: Meta
        let summary: Summary
        let conversations: [Conversation]
    }

    static func choice(_ request: Request, _ name: String, _ allowed: [String]) throws -> String {
        guard let value = request.query[name] else { return allowed[0] }
        guard allowed.contains(value) else {
            throw APIError.badRequest("Invalid value for parameter: \(name) (\(allowed.joined(separator: ", ")))")
        }
        return value
    }

    /// A filter on one of the conversation's closed fields: nil for "all" (or absent).
    static func filter<Value: RawRepresentable<String> & CaseIterable>(_ request: Request, _ name: String) throws -> Value? {
        Value(rawValue: try choice(request, name, ["all"] + Value.allCases.map(\.rawValue)))
    }

    /// An id filter: 403 when an organisation's key names another organisation's assistant or number.
    static func idFilter(_ request: Request, _ name: String, _ kind: OwnedKind, scope: String?, _ context: AppContext) throws -> String? {
        guard let raw = request.query[name], !raw.isEmpty else { return nil }
        guard raw.utf8.count <= 100 else { throw APIError.badRequest("Invalid value for parameter: \(name)") }
        guard let owner = try context.resources.owner(kind, id: raw) else { return raw }
        if let scope, owner.orgId != scope { throw APIError(403, "This API key cannot read another organisation's data") }
        return owner.localId
    }

    /// The API key's scope and the filters of `GET /api/analytics` (shared by the export), checked.
    static func filter(_ request: Request, _ context: AppContext) throws -> (filter: AnalyticsFilter, days: Int) {
        let scope = try AnalyticsAuth.scope(request, context)
        let days = Int(try choice(request, "timeRangeDays", ["7", "30", "90"]))!
        let channel: ConversationChannel? = try filter(request, "channel")
        let sentiment: Sentiment? = try filter(request, "sentiment")
        let resolution: Resolution? = try filter(request, "resolution")
        let assistantId = try idFilter(request, "assistantId", .assistants, scope: scope, context)
        let phoneNumberId = try idFilter(request, "phoneNumberId", .phoneNumbers, scope: scope, context)
        let filter = AnalyticsFilter(
            orgId: scope, fromDay: AnalyticsFormat.firstDay(of: days, now: context.now),
            channel: channel, sentiment: sentiment, resolution: resolution, assistantId: assistantId, phoneNumberId: phoneNumberId)
        return (filter, days)
    }

    static func overview(_ request: Request, _ context: AppContext) throws -> Response {
        let (filter, days) = try filter(request, context)
        let (scope, assistantId) = (filter.orgId, filter.assistantId)
        let (channel, sentiment, resolution) = (filter.channel, filter.sentiment, filter.resolution)
        let page = try Validate.page(request)
        let counts = try context.analytics.counts(filter)
        let gaps = try context.analytics.gapCounts(orgId: scope, assistantId: assistantId)
        let conversations = try context.analytics.conversations(filter, limit: page.limit, offset: page.offset)
        let summary = Summary(
            totalConversations: counts.total, successfulConversations: counts.resolved, failedConversations: counts.failed,
            successRatePercent: AnalyticsFormat.percent(counts.resolved, of: counts.total),
            totalDurationSeconds: counts.durationSeconds, avgDurationSeconds: AnalyticsFormat.average(counts.durationSeconds, over: counts.total),
            escalatedConversations: counts.escalated, escalationRatePercent: AnalyticsFormat.percent(counts.escalated, of: counts.total),
            timeSavedHours: AnalyticsFormat.average(counts.resolved * context.config.minutesSavedPerResolved, over: 60),
            byChannel: .init(web: counts.web, phone: counts.phone),
            knowledgeGaps: .init(totalGaps: gaps.total, highPriorityGaps: gaps.high),
            bySentiment: .init(positive: counts.positive, neutral: counts.neutral, negative: counts.negative))
        let meta = Meta(
            timeRangeDays: days, channel: channel?.rawValue ?? "all", sentiment: sentiment?.rawValue ?? "all",
            resolution: resolution?.rawValue ?? "all",
            assistantId: request.query["assistantId"].flatMap { $0.isEmpty ? nil : $0 },
            phoneNumberId: request.query["phoneNumberId"].flatMap { $0.isEmpty ? nil : $0 },
            totalConversationsReturned: conversations.count)
        return try Response.json(Overview(meta: meta, summary: summary, conversations: conversations.map(Conversation.init)))
    }

    struct Detail: Encodable {
        struct Assistant: Encodable {
            let id: String?
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(id, forKey: .id)
            }
            enum CodingKeys: String, CodingKey { case id }
        }
        struct Message: Encodable { let role, message: String }
        let base: Conversation
        let startedAt, endedAt: String?
        let createdAt: String
        let transcript: String?
        let messages: [Message]
        let recordingUrl, stereoRecordingUrl: String?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(base.id, forKey: .id); try c.encode(base.type, forKey: .type); try c.encode(base.channel, forKey: .channel)
            try c.encode(base.status, forKey: .status); try c.encode(base.endedReason, forKey: .endedReason)
            try c.encode(startedAt, forKey: .startedAt); try c.encode(endedAt, forKey: .endedAt); try c.encode(createdAt, forKey: .createdAt)
            try c.encode(base.durationSeconds, forKey: .durationSeconds); try c.encode(base.durationFormatted, forKey: .durationFormatted)
            try c.encodeIfPresent(base.sentiment, forKey: .sentiment); try c.encodeIfPresent(base.resolution, forKey: .resolution)
            try c.encode(base.customer, forKey: .customer); try c.encode(Assistant(id: base.assistantId), forKey: .assistant)
            try c.encode(base.analysis, forKey: .analysis); try c.encode(transcript, forKey: .transcript)
            try c.encode(messages, forKey: .messages); try c.encode(recordingUrl, forKey: .recordingUrl)
            try c.encode(stereoRecordingUrl, forKey: .stereoRecordingUrl)
        }
        enum CodingKeys: String, CodingKey {
            case id, type, channel, status, endedReason, startedAt, endedAt, createdAt, durationSeconds, durationFormatted
            case sentiment, resolution, customer, assistant, analysis, transcript, messages, recordingUrl, stereoRecordingUrl
        }
    }

    static func detail(_ request: Request, _ context: AppContext) throws -> Response {
        let scope = try AnalyticsAuth.scope(request, context)
        let id = request.param("conversationId")
        guard (1...100).contains(id.utf8.count), id.utf8.allSatisfy({ isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw APIError.badRequest("Invalid conversationId: letters, digits, - and _ only")
        }
        guard let c = try context.analytics.conversation(orgId: scope, id: id) else { throw APIError.notFound("Conversation") }
        let messages = try context.chats.messages(conversationId: c.id).compactMap { m -> Detail.Message? in
            m.role == .error ? nil : Detail.Message(role: m.role.rawValue, message: m.content)
        }
        let transcript = c.transcript ?? (messages.isEmpty ? nil
            : messages.map { ($0.role == "user" ? "User: " : "AI: ") + $0.message }.joined(separator: "\n"))
        return try Response.json(Detail(
            base: Conversation(c), startedAt: c.startedAt, endedAt: c.endedAt, createdAt: c.createdAt, transcript: transcript,
            messages: messages, recordingUrl: c.recordingUrl, stereoRecordingUrl: c.stereoRecordingUrl))
    }
}
