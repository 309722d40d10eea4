import Foundation

/// Any JSON value: for free-form fields (`metadata`), merge patches and provider payloads.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// RFC 7396 JSON merge patch: objects merge key by key, `null` removes a key, anything else replaces.
    public func merged(with patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var result = objectValue ?? [:]
        for (key, value) in changes {
            if value == .null {
                result.removeValue(forKey: key)
            } else {
                result[key] = (result[key] ?? .null).merged(with: value)
            }
        }
        return .object(result)
    }

    /// 400 for an explicit `null` where the contract does not allow one. `nullable` lists dotted paths
    /// that may be null; a path ending in `.*` also frees everything below it (free-form objects).
    public func rejectNulls(nullable: Set<String>, path: String = "") throws {
        switch self {
        case .null:
            if !nullable.contains(path) { throw ValidationFailure("Invalid value for field: \(path) (must not be null)") }
        case .object(let fields):
            if nullable.contains(path + ".*") || nullable.contains("*") { return }
            for (key, value) in fields { try value.rejectNulls(nullable: nullable, path: path.isEmpty ? key : path + "." + key) }
        case .array(let items):
            for item in items { try item.rejectNulls(nullable: nullable, path: "\(path)[]") }
        default: return
        }
    }

    /// A body the parser cannot read (a number out of range, a lone surrogate) is the client's error.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw ValidationFailure("Malformed JSON body")
        }
    }

    /// Re-reads this value as a typed model, with the same 400 messages as a request body.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONTreeDecoder.decode(T.self, from: self)
        } catch let error as DecodingError {
            throw ValidationFailure(JSON.describe(error))
        }
    }

    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONTreeEncoder.encode(value)
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
