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

/// Decodes `Body` with each object checked for nulls before the model reads it. Unknown fields are dropped,
/// but a `null` in one is refused too (nothing there is nullable).
public struct NullChecked<Body: RequestBody>: Decodable {
    public let value: Body

    public init(from decoder: Decoder) throws {
        let rules = NullRules(nullable: Body.nullableFields, serverFields: Body.serverFields)
        // A request body is decoded from its parsed tree (`JSON.decode`); any other decoder's value is read
        // into one first.
        let tree = try (decoder as? JSONTreeDecoder)?.value ?? JSONValue(from: decoder)
        value = try JSONTreeDecoder.decode(Body.self, from: tree, rules: rules)
    }
}

struct NullRules {
    let nullable: Set<String>
    let serverFields: Set<String>

    /// Below a free-form field (`path`, as `nullableFields` spells it) anything goes.
    func isFree(_ path: String) -> Bool { nullable.contains(path + ".*") }

    func allowNull(at path: String) throws {
        guard nullable.contains(path) else { throw refused(path) }
    }

    func refused(_ path: String) -> ValidationFailure { ValidationFailure("Invalid value for field: \(path) (must not be null)") }

    /// An object's nulls, before the model reads it: in a known field only where nullable; in an unknown
    /// field (which is dropped) nowhere, however deep.
    func check<Known: CodingKey>(_ fields: [String: JSONValue], at path: String, known: Known.Type) throws {
        for (key, value) in fields where !(path.isEmpty && serverFields.contains(key)) {
            let field = path.isEmpty ? key : path + "." + key
            if value == .null {
                try allowNull(at: field)
            } else if Known(stringValue: key) == nil {
                try value.rejectNulls(nullable: nullable, path: field)
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
