import EdmoCore
import Foundation

/// Server-Sent Events as this API writes them (`text/event-stream`): `event: NAME`, the data as one
/// `data:` line (our JSON has no line breaks; should a value ever carry one, it is split into several
/// `data:` lines, which a reader joins back with "\n"), then a blank line.
enum EventStream {
    static let contentType = "text/event-stream; charset=utf-8"

    static func event(_ name: String, _ data: [UInt8]) -> [UInt8] {
        var out = Array("event: \(name)\n".utf8)
        out.reserveCapacity(out.count + data.count + 16)
        for line in data.split(omittingEmptySubsequences: false, whereSeparator: { $0 == 0x0A || $0 == 0x0D }) {
            out += "data: ".utf8
            out += line
            out.append(0x0A)
        }
        out.append(0x0A)
        return out
    }

    static func event<T: Encodable>(_ name: String, json value: T) throws -> [UInt8] {
        event(name, try JSON.encode(value))
    }
}
