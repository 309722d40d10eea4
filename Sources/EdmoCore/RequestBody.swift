import Foundation

/// A model decoded straight from a request body (through `NullChecked`). A plain decoder reads JSON's
/// `null` as "absent", so a client could not tell a refused value from an ignored one: here `null` is a 400
/// naming the field, except where the contract marks the field nullable.
public protocol RequestBody: Decodable {
    /// Dotted paths that may be `null` (`a.b`; the items of array `a` are `a[]`); `a.*` frees everything
    /// below `a` (free-form objects).
    static var nullableFields: Set<String> { get }
    /// Top-level fields the server owns: a body may carry them (a copy of a response), whatever they hold;
    /// they are never read.
    static var serverFields: Set<String> { get }
}

/// Decodes `Body` in the same single pass as the JSON: each object is checked for nulls before the model
/// reads it. Unknown fields are dropped, but a `null` in one is refused too (nothing there is nullable).
public struct NullChecked<Body: RequestBody>: Decodable {
    public let value: Body

    public init(from decoder: Decoder) throws {
        let rules = NullRules(nullable: Body.nullableFields, serverFields: Body.serverFields)
        value = try Body(from: NullCheckingDecoder(base: decoder, rules: rules))
    }
}

struct NullRules {
    let nullable: Set<String>
    let serverFields: Set<String>

    /// Below a free-form field anything goes: it is read by the plain decoder.
    func isFree(_ codingPath: [CodingKey]) -> Bool { nullable.contains(Self.path(codingPath) + ".*") }

    func allowNull(at path: String) throws {
        guard nullable.contains(path) else { throw refused(path) }
    }

    func refused(_ path: String) -> ValidationFailure { ValidationFailure("Invalid value for field: \(path) (must not be null)") }

    /// The path as `nullableFields` spells it: `model.messages[].content`.
    static func path(_ codingPath: [CodingKey]) -> String {
        codingPath.reduce(into: "") { path, key in
            if key.intValue != nil { path += "[]" } else { path += path.isEmpty ? key.stringValue : "." + key.stringValue }
        }
    }

    /// An object's nulls, before the model reads it: in a known field only where nullable; in an unknown
    /// field (which is dropped) nowhere, however deep.
    func check<Known: CodingKey>(_ object: KeyedDecodingContainer<AnyKey>, known: Known.Type) throws {
        let path = Self.path(object.codingPath)
        for key in object.allKeys where !(path.isEmpty && serverFields.contains(key.stringValue)) {
            let field = path.isEmpty ? key.stringValue : path + "." + key.stringValue
            if try object.decodeNil(forKey: key) {
                try allowNull(at: field)
            } else if Known(stringValue: key.stringValue) == nil {
                try object.decode(JSONValue.self, forKey: key).rejectNulls(nullable: nullable, path: field)
            }
        }
    }
}

/// Any key of a JSON object.
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The JSON decoder with every object it opens checked by `NullRules` first.
struct NullCheckingDecoder: Decoder {
    let base: Decoder
    let rules: NullRules
    var codingPath: [CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try rules.check(try base.container(keyedBy: AnyKey.self), known: type)
        return KeyedDecodingContainer(NullCheckingKeyed(base: try base.container(keyedBy: type), rules: rules))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        NullCheckingUnkeyed(base: try base.unkeyedContainer(), rules: rules)
    }

    /// A single value (a string, an enum) has no fields of its own to check.
    func singleValueContainer() throws -> SingleValueDecodingContainer { try base.singleValueContainer() }
}
