import Foundation

/// Reads a `text/event-stream` body (the WHATWG Server-Sent Events format) as its bytes arrive, in chunks
/// cut anywhere: in the middle of a line, between the CR and LF of a line end, inside a UTF-8 character.
/// Lines are decoded only once complete, so a split character is never mangled.
public struct ServerSentEventParser: Sendable {
    public struct Event: Sendable, Equatable {
        /// The `event:` field, or "message" when the event named none.
        public var name: String
        /// The `data:` lines, joined by "\n".
        public var data: String

        public init(name: String, data: String) {
            self.name = name
            self.data = data
        }
    }

    private var line: [UInt8] = []
    private var afterCR = false
    private var atStart = true
    private var name = ""
    private var data: [String] = []

    public init() {}

    /// The events completed by `bytes` (an event ends at a blank line).
    public mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\n") where afterCR:
                afterCR = false  // the LF of a CRLF: its line already ended at the CR
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                afterCR = byte == UInt8(ascii: "\r")
                if let event = endLine() { events.append(event) }
            default:
                afterCR = false
                line.append(byte)
            }
        }
        return events
    }

    /// One complete line: a field, a comment, or the blank line that dispatches the event.
    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {
            atStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }  // a byte order mark
        }
        if line.isEmpty {
            defer { name = ""; data = [] }
            guard !data.isEmpty else { return nil }
            return Event(name: name.isEmpty ? "message" : name, data: data.joined(separator: "\n"))
        }
        if line.first == UInt8(ascii: ":") { return nil }  // a comment (keep-alive)
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = String(decoding: line[..<(colon ?? line.endIndex)], as: UTF8.self)
        var value = colon.map { line[line.index(after: $0)...] } ?? []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        switch field {
        case "event": name = String(decoding: value, as: UTF8.self)
        case "data": data.append(String(decoding: value, as: UTF8.self))
        default: break  // id, retry and unknown fields mean nothing to a one-shot reader
        }
        return nil
    }
}
