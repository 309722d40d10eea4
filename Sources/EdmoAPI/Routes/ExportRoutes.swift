import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// GET /api/analytics/conversations.csv and GET /api/analytics/conversations: every conversation
/// `GET /api/analytics` counts in a window, filtered, as a spreadsheet, as NDJSON, or as JSON pages. The
/// streamed forms read a page at a time from the store (keyset paging) and send it as it is read, so
/// memory stays the same however many rows there are.
enum ExportRoutes {
    static let columns = [
        "id", "timestamp", "type", "channel", "status", "endedReason", "durationSeconds", "sentiment", "resolution",
        "assistantId", "phoneNumberId", "customerNumber", "summary", "successEvaluation",
    ]
    /// Rows read per store page: one short read each, and about 100-200 KB of text per flush.
    static let pageRows = 500

    static func csv(_ request: Request, _ context: AppContext) throws -> Response {
        let filter = try AnalyticsWindow.filter(request, context, search: true).filter
        var response = try stream(filter, after: nil, context, contentType: "text/csv; charset=utf-8", head: CSV.line(columns)) { c, out in
            CSV.append(row(c), to: &out)
        }
        response.addHeader("Content-Disposition", #"attachment; filename="conversations.csv""#)
        return response
    }

    struct Page: Encodable {
        let conversations: [AnalyticsRoutes.Conversation]
        @Nullable var nextCursor: String?
    }

    /// JSON pages (`limit`, `cursor` from the previous page's `nextCursor`), or with
    /// `Accept: application/x-ndjson` every row from `cursor` on, one JSON object a line.
    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let filter = try AnalyticsWindow.filter(request, context, search: true).filter
        let cursor = try request.query["cursor"].map { raw in
            guard let cursor = PageCursor.decode(raw) else { throw APIError.badRequest("Invalid value for parameter: cursor") }
            return cursor
        }
        if request.header("accept")?.contains("application/x-ndjson") == true {
            return try stream(filter, after: cursor, context, contentType: "application/x-ndjson", head: "") { c, out in
                out += try JSON.encode(AnalyticsRoutes.Conversation(c))
                out.append(UInt8(ascii: "\n"))
            }
        }
        var limit = 100
        if let raw = request.query["limit"] {
            guard let n = Int(raw), (1...pageRows).contains(n) else { throw APIError.badRequest("Invalid value for parameter: limit (1 to \(pageRows))") }
            limit = n
        }
        // One more than asked: whether there is a next page, without an empty last one.
        let rows = try context.analytics.conversations(filter, after: cursor, limit: limit + 1)
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { PageCursor.encode(ConversationCursor(after: $0)) } : nil
        return try Response.json(Page(conversations: page.map(AnalyticsRoutes.Conversation.init), nextCursor: next))
    }

    /// The rows after `cursor`, each appended by `line`, streamed a store page at a time.
    static func stream(
        _ filter: AnalyticsFilter, after cursor: ConversationCursor?, _ context: AppContext, contentType: String, head: String,
        line: @escaping @Sendable (ConversationRecord, inout [UInt8]) throws -> Void
    ) throws -> Response {
        // Checked before the head goes out, while an error can still be a status: the first page.
        let first = try context.analytics.conversations(filter, after: cursor, limit: pageRows)
        return Response.streaming(contentType: contentType) { writer in
            if !head.isEmpty { try writer.write(Array(head.utf8)) }
            var page = first, bytes: [UInt8] = []
            while !page.isEmpty {
                bytes.removeAll(keepingCapacity: true)
                for c in page { try line(c, &bytes) }
                try writer.write(bytes)
                try writer.flush()
                guard page.count == pageRows, let last = page.last else { break }
                page = try context.analytics.conversations(filter, after: ConversationCursor(after: last), limit: pageRows)
            }
        }
    }

    static func row(_ c: ConversationRecord) -> [String] {
        [
            c.id, c.createdAt, c.type, c.channel.rawValue, c.status.rawValue, c.endedReason ?? "", String(c.durationSeconds),
            c.sentiment?.rawValue ?? "", c.resolution?.rawValue ?? "", c.assistantId ?? "", c.phoneNumberId ?? "",
            c.customerNumber ?? "", c.summary ?? "", c.successEvaluation ?? "",
        ]
    }
}

/// A keyset position as an opaque URL-safe token: base64url of `createdAt` NUL `id`.
enum PageCursor {
    static func encode(_ cursor: ConversationCursor) -> String {
        Data((cursor.createdAt + "\u{0}" + cursor.id).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String) -> ConversationCursor? {
        guard token.utf8.count <= 400 else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return ConversationCursor(createdAt: String(parts[0]), id: String(parts[1]))
    }
}
