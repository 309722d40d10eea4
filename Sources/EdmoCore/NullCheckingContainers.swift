import Foundation

/// The containers of `NullCheckingDecoder`: values pass straight through; a nested model is read through
/// the null check again (unless it is free-form), and so are the items of an array.
struct NullCheckingKeyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let base: KeyedDecodingContainer<Key>
    let rules: NullRules
    var codingPath: [CodingKey] { base.codingPath }
    var allKeys: [Key] { base.allKeys }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        // An absent key is the plain decoder's error ("Missing required field").
        guard base.contains(key), !rules.isFree(codingPath + [key]) else { return try base.decode(type, forKey: key) }
        return try T(from: try superDecoder(forKey: key))
    }

    func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
        try rules.check(try base.nestedContainer(keyedBy: AnyKey.self, forKey: key), known: type)
        return KeyedDecodingContainer(NullCheckingKeyed<N>(base: try base.nestedContainer(keyedBy: type, forKey: key), rules: rules))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        NullCheckingUnkeyed(base: try base.nestedUnkeyedContainer(forKey: key), rules: rules)
    }

    func superDecoder() throws -> Decoder { NullCheckingDecoder(base: try base.superDecoder(), rules: rules) }
    func superDecoder(forKey key: Key) throws -> Decoder { NullCheckingDecoder(base: try base.superDecoder(forKey: key), rules: rules) }

    func contains(_ key: Key) -> Bool { base.contains(key) }
    func decodeNil(forKey key: Key) throws -> Bool { try base.decodeNil(forKey: key) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try base.decode(type, forKey: key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try base.decode(type, forKey: key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try base.decode(type, forKey: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try base.decode(type, forKey: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try base.decode(type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try base.decode(type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try base.decode(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try base.decode(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try base.decode(type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try base.decode(type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try base.decode(type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try base.decode(type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try base.decode(type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try base.decode(type, forKey: key) }
}

/// An array's items: a `null` item is refused unless its path (`a[]`) is nullable.
struct NullCheckingUnkeyed: UnkeyedDecodingContainer {
    var base: UnkeyedDecodingContainer
    let rules: NullRules
    var codingPath: [CodingKey] { base.codingPath }
    var count: Int? { base.count }
    var isAtEnd: Bool { base.isAtEnd }
    var currentIndex: Int { base.currentIndex }

    var itemPath: String { NullRules.path(codingPath) + "[]" }

    mutating func decodeNil() throws -> Bool {
        guard try base.decodeNil() else { return false }
        try rules.allowNull(at: itemPath)
        return true
    }

    /// Before an item is read as a value: a null one is the client's error, named like any other.
    mutating func refuseNull() throws {
        guard !base.isAtEnd, !rules.nullable.contains(itemPath) else { return }
        if try base.decodeNil() { throw rules.refused(itemPath) }
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try refuseNull()
        guard !base.isAtEnd, !rules.nullable.contains(itemPath + ".*") else { return try base.decode(type) }
        return try T(from: try superDecoder())
    }

    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
        try superDecoder().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try superDecoder().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { NullCheckingDecoder(base: try base.superDecoder(), rules: rules) }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try refuseNull(); return try base.decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try refuseNull(); return try base.decode(type) }
}
