import Foundation

public enum JSON {
    /// As `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes` writes it (`JSONTreeEncoder`).
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try JSONTreeEncoder.encode(value).serialized()
    }

    /// `value` read from parsed JSON, with JSONDecoder's rules and `DecodingError`s (`JSONTreeDecoder`).
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try JSONTreeDecoder.decode(type, from: value)
    }

    /// A decoder failure as a client-facing message naming the field.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey], _ last: CodingKey? = nil) -> String {
            (keys + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "Missing required field: \(path(context.codingPath, key))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            if context.codingPath.isEmpty { return "Request body must be a JSON object" }
            return "Invalid value for field: \(path(context.codingPath))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "Malformed JSON body" }
            return "Invalid value for field: \(path(context.codingPath))"
        @unknown default:
            return "Malformed JSON body"
        }
    }
}

/// A field that distinguishes "absent" from "null", for PATCH bodies.
public enum Patch<Value: Decodable & Sendable>: Decodable, Sendable {
    case absent
    case null
    case value(Value)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .null : .value(try container.decode(Value.self))
    }
}

extension Patch {
    /// For fields that may be absent but not null: nil when absent, 400 naming the field when null.
    public func required(_ field: String) throws -> Value? {
        switch self {
        case .absent: return nil
        case .null: throw ValidationFailure("Invalid value for field: \(field) (must not be null)")
        case .value(let value): return value
        }
    }
}

extension KeyedDecodingContainer {
    public func decode<V>(_ type: Patch<V>.Type, forKey key: Key) throws -> Patch<V> {
        contains(key) ? try Patch<V>(from: superDecoder(forKey: key)) : .absent
    }
}

/// An optional that encodes as `null` when absent (synthesized Encodable leaves nil keys out), for the
/// fields the contract lists as required but nullable.
@propertyWrapper
public struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}
