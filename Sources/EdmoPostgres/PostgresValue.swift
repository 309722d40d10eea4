import CLibPQ
import EdmoCore
import Foundation

/// A statement parameter as libpq sends it: text that the server parses into the column's type, or
/// bytes (`bytea`) sent in binary so they need no escaping.
public enum PostgresValue: Sendable, Equatable {
    case text(String)
    case bytes([UInt8])
}

/// A Swift value that can be a statement parameter. `nil` (of any of these) is SQL NULL.
public protocol PostgresEncodable {
    var postgresValue: PostgresValue { get }
}

/// A Swift value that can be read from a column's text (the result format this client asks for).
public protocol PostgresDecodable {
    /// Parses the server's text output for the column (followed by a NUL, as libpq hands it out); nil
    /// when it is not a valid value of this type.
    static func decode(postgresText text: UnsafeBufferPointer<UInt8>) -> Self?
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(self) }
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) -> String? {
        String(decoding: text, as: UTF8.self)
    }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(String(self)) }
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) -> Int? {
        Int(String(decoding: text, as: UTF8.self))
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    /// Swift prints the shortest text that reads back as the same Double; PostgreSQL spells the
    /// non-finite values its own way.
    public var postgresValue: PostgresValue {
        if isNaN { return .text("NaN") }
        if isInfinite { return .text(self < 0 ? "-Infinity" : "Infinity") }
        return .text(String(self))
    }
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) -> Double? {
        switch String(decoding: text, as: UTF8.self) {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        case let other: Double(other)
        }
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(self ? "true" : "false") }
    /// `boolean` columns print `t` / `f`.
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) -> Bool? {
        switch String(decoding: text, as: UTF8.self) {
        case "t", "true", "1": true
        case "f", "false", "0": false
        default: nil
        }
    }
}

extension Date: PostgresEncodable, PostgresDecodable {
    /// Dates are stored as `Timestamp` text (ISO 8601 UTC with milliseconds), as on SQLite.
    public var postgresValue: PostgresValue { .text(Timestamp.format(self)) }
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) -> Date? {
        Timestamp.parse(String(decoding: text, as: UTF8.self))
    }
}

extension Array: PostgresEncodable where Element == UInt8 {
    public var postgresValue: PostgresValue { .bytes(self) }
}

extension Array: PostgresDecodable where Element == UInt8 {
    /// `bytea` prints as `\x` and hex digits; libpq's own unescaping reads it (and the older escape format).
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let start = text.baseAddress else { return [] }
        var length = 0
        guard let bytes = PQunescapeBytea(start, &length) else { return nil }
        defer { PQfreemem(bytes) }
        return Array(UnsafeBufferPointer(start: bytes, count: length))
    }
}
