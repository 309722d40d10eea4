import EdmoCore
import EdmoService
import EdmoStore
import Foundation

/// GET /api/analytics/conversations.csv: every conversation `GET /api/analytics` would list, as a
/// spreadsheet, streamed: read a page at a time from the store and sent as it is read, so memory stays
/// the same however many rows there are.
enum ExportRoutes {
    static let columns = [
        "id", "timestamp", "type", "channel", "status", "endedReason", "durationSeconds", "sentiment", "resolution",
        "assistantId", "phoneNumberId", "customerNumber", "summary", "successEvaluation",
    ]
    /// Rows read per store page: one short read each, and about 100-200 KB of text per flush.
    static let pageRows = 500

    static func csv(_ request: Request, _ context: AppContext) throws -> Response {
        let filter = try AnalyticsRoutes.filter(request, context).filter
        // Checked before the head goes out, while an error can still be a status: the first page.
        let first = try context.analytics.conversations(filter, after: nil, limit: pageRows)
        var response = Response.streaming(contentType: "text/csv; charset=utf-8") { writer in
            try writer.write(Array(CSV.line(columns).utf8))
            var page = first
            while !page.isEmpty {
                var text = ""
                for c in page { text += CSV.line(row(c)) }
                try writer.write(Array(text.utf8))
                try writer.flush()
                guard page.count == pageRows, let last = page.last else { break }
                page = try context.analytics.conversations(filter, after: ConversationCursor(after: last), limit: pageRows)
            }
        }
        response.addHeader("Content-Disposition", #"attachment; filename="conversations.csv""#)
        return response
    }

    static func row(_ c: ConversationRecord) -> [String] {
        [
            c.id, c.createdAt, c.type, c.channel.rawValue, c.status.rawValue, c.endedReason ?? "", String(c.durationSeconds),
            c.sentiment?.rawValue ?? "", c.resolution?.rawValue ?? "", c.assistantId ?? "", c.phoneNumberId ?? "",
            c.customerNumber ?? "", c.summary ?? "", c.successEvaluation ?? "",
        ]
    }
}
