import Foundation

/// Decodes a `Decodable` from a parsed `JSONValue`, with `JSONDecoder`'s rules and errors (the `DecodingError`s
/// `JSON.describe` turns into 400s), and, for request bodies, the null check of `RequestBody` built in.
/// Why not JSONDecoder: a request body was parsed twice (checked, then decoded), a merge patch encoded and
/// decoded again, and the null check doubled every container; that was a third of an assistant write's CPU.
struct JSONTreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [CodingKey]
    /// The request body's null rules, and the path as they spell it (`model.messages[]`); nil below a
    /// free-form field and outside request bodies.
    let rules: NullRules?
    let path: String
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, rules: NullRules? = nil) throws -> T {
        try JSONTreeDecoder(value: value, codingPath: [], rules: rules, path: "").read(type)
    }

    func read<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        if T.self == Date.self || T.self == URL.self || T.self == Data.self || T.self == Decimal.self {
            // JSONDecoder's own readings of these; the value is written out and read back for it alone.
            guard value != .null else { throw DecodingError.valueNotFound(T.self, context("found null")) }
            let decoded = try JSONDecoder().decode([T].self, from: Data(try JSONValue.array([value]).serialized()))
            return decoded[0]
        }
        return try T(from: self)
    }

    func context(_ description: String, _ key: CodingKey? = nil) -> DecodingError.Context {
        DecodingError.Context(codingPath: key.map { codingPath + [$0] } ?? codingPath, debugDescription: description)
    }

    func child(_ value: JSONValue, key: CodingKey, path: String, free: Bool) -> JSONTreeDecoder {
        JSONTreeDecoder(value: value, codingPath: codingPath + [key], rules: free ? nil : rules, path: path)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw mismatch([String: Any].self, value, context("")) }
        if let rules { try rules.check(fields, at: path, known: type) }
        return KeyedDecodingContainer(Keyed<Key>(decoder: self, fields: fields))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch([Any].self, value, context("")) }
        return Unkeyed(decoder: self, items: items)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { Single(decoder: self) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: JSONTreeDecoder
        let fields: [String: JSONValue]
        var codingPath: [CodingKey] { decoder.codingPath }
        var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

        func field(_ key: Key) throws -> JSONValue {
            guard let value = fields[key.stringValue] else {
                throw DecodingError.keyNotFound(key, decoder.context("No value associated with key \(key.stringValue)"))
            }
            return value
        }

        func path(_ key: Key) -> String { decoder.path.isEmpty ? key.stringValue : decoder.path + "." + key.stringValue }

        /// The path as the null rules spell it is built only when there are rules (a request body).
        func child(_ key: Key) throws -> JSONTreeDecoder {
            guard let rules = decoder.rules else { return decoder.child(try field(key), key: key, path: "", free: true) }
            let path = path(key)
            return decoder.child(try field(key), key: key, path: path, free: rules.isFree(path))
        }

        func decodeNil(forKey key: Key) throws -> Bool { try field(key) == .null }

        /// A scalar read in place: a decoder (and its coding path) is made only to describe a failure.
        func scalar<T>(_ key: Key, _ read: (JSONValue) -> T?) throws -> T {
            if let value = fields[key.stringValue], let read = read(value) { return read }
            return try child(key).fail(T.self)
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try scalar(key, JSONTreeDecoder.bool) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try scalar(key, JSONTreeDecoder.string) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try scalar(key, JSONTreeDecoder.double) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).float() }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try scalar(key, JSONTreeDecoder.integer) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try scalar(key, JSONTreeDecoder.integer) }

        /// Absent or null is nil, as the protocol's default has it, with one look-up instead of three.
        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
            guard let value = fields[key.stringValue], value != .null else { return nil }
            return try scalar(key, JSONTreeDecoder.string)
        }

        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
            guard let value = fields[key.stringValue], value != .null else { return nil }
            return try scalar(key, JSONTreeDecoder.integer)
        }

        func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
            guard let value = fields[key.stringValue], value != .null else { return nil }
            return try scalar(key, JSONTreeDecoder.double)
        }

        func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
            guard let value = fields[key.stringValue], value != .null else { return nil }
            return try scalar(key, JSONTreeDecoder.bool)
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let value = fields[key.stringValue], value != .null else { return nil }
            return try child(key).read(type)
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).read(type) }

        func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
            try child(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { try child(key).unkeyedContainer() }

        /// An absent key reads as null, as JSONDecoder's does.
        func superDecoder(forKey key: Key) throws -> Decoder {
            let path = path(key)
            return decoder.child(fields[key.stringValue] ?? .null, key: key, path: path, free: decoder.rules?.isFree(path) ?? true)
        }

        func superDecoder() throws -> Decoder {
            decoder.child(fields["super"] ?? .null, key: AnyKey(stringValue: "super"), path: decoder.path, free: true)
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let decoder: JSONTreeDecoder
        let items: [JSONValue]
        var currentIndex = 0
        var codingPath: [CodingKey] { decoder.codingPath }
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        init(decoder: JSONTreeDecoder, items: [JSONValue]) {
            self.decoder = decoder
            self.items = items
        }

        /// The next item's decoder; with null rules, a null item is refused unless the array's items (`a[]`)
        /// are nullable.
        mutating func next<T>(_ type: T.Type, allowingNull: Bool = false) throws -> JSONTreeDecoder {
            let key = IndexKey(currentIndex)
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(T.self, DecodingError.Context(codingPath: codingPath + [key], debugDescription: "Unkeyed container is at end."))
            }
            let path = decoder.rules == nil ? "" : decoder.path + "[]"
            if let rules = decoder.rules, items[currentIndex] == .null, !allowingNull { try rules.allowNull(at: path) }
            let item = decoder.child(items[currentIndex], key: key, path: path, free: decoder.rules?.isFree(path) ?? true)
            currentIndex += 1
            return item
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(
                    Any?.self, DecodingError.Context(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
            }
            guard items[currentIndex] == .null else { return false }
            if let rules = decoder.rules { try rules.allowNull(at: decoder.path + "[]") }
            currentIndex += 1
            return true
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type).bool() }
        mutating func decode(_ type: String.Type) throws -> String { try next(type).string() }
        mutating func decode(_ type: Double.Type) throws -> Double { try next(type).double() }
        mutating func decode(_ type: Float.Type) throws -> Float { try next(type).float() }
        mutating func decode(_ type: Int.Type) throws -> Int { try next(type).integer() }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type).integer() }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type).integer() }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type).integer() }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type).integer() }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type).integer() }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type).integer() }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type).integer() }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type).integer() }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type).integer() }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).read(type) }

        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
            try next([String: Any].self).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next([Any].self).unkeyedContainer() }
        mutating func superDecoder() throws -> Decoder { try next(Any.self, allowingNull: true) }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: JSONTreeDecoder
        var codingPath: [CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool { decoder.value == .null }
        func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool() }
        func decode(_ type: String.Type) throws -> String { try decoder.string() }
        func decode(_ type: Double.Type) throws -> Double { try decoder.double() }
        func decode(_ type: Float.Type) throws -> Float { try decoder.float() }
        func decode(_ type: Int.Type) throws -> Int { try decoder.integer() }
        func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer() }
        func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer() }
        func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer() }
        func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer() }
        func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer() }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer() }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer() }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer() }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer() }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.read(type) }
    }

    // MARK: values

    static func bool(_ value: JSONValue) -> Bool? {
        if case .bool(let b) = value { return b }
        return nil
    }

    static func string(_ value: JSONValue) -> String? {
        if case .string(let s) = value { return s }
        return nil
    }

    static func double(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// A whole number that fits (`1.0` and `1e2` too).
    static func integer<I: FixedWidthInteger>(_ value: JSONValue) -> I? {
        switch value {
        case .int(let i): return I(exactly: i)
        case .double(let d): return I(exactly: d)
        default: return nil
        }
    }

    func bool() throws -> Bool { try Self.bool(value) ?? fail(Bool.self) }
    func string() throws -> String { try Self.string(value) ?? fail(String.self) }
    func double() throws -> Double { try Self.double(value) ?? fail(Double.self) }
    func integer<I: FixedWidthInteger>() throws -> I { try Self.integer(value) ?? fail(I.self) }

    /// A number past Float's range is corrupt, as JSONDecoder has it.
    func float() throws -> Float {
        let d = try double()
        guard Float(d).isFinite else { throw DecodingError.dataCorrupted(context("Number \(d) does not fit in Float.")) }
        return Float(d)
    }

    /// Why this value is not a `T`, as JSONDecoder says it: null is "not found", a number that does not fit
    /// (a fraction for an integer, or out of range) is corrupt, anything else a type mismatch.
    func fail<T>(_ type: T.Type) throws -> T {
        switch value {
        case .int, .double:
            guard T.self is any FixedWidthInteger.Type else { fallthrough }
            throw DecodingError.dataCorrupted(context("Number does not fit in \(T.self)."))
        default:
            throw mismatch(T.self, value, context(""))
        }
    }
}

/// JSONDecoder's error for a value of the wrong type: null is "not found", anything else a mismatch.
private func mismatch(_ type: Any.Type, _ value: JSONValue, _ context: DecodingError.Context) -> DecodingError {
    if value == .null {
        return .valueNotFound(type, DecodingError.Context(codingPath: context.codingPath, debugDescription: "Expected \(type) value but found null instead."))
    }
    return .typeMismatch(type, DecodingError.Context(codingPath: context.codingPath, debugDescription: "Expected to decode \(type) but found \(value.kindName) instead."))
}

extension JSONValue {
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double: return "number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "a dictionary"
        }
    }
}
