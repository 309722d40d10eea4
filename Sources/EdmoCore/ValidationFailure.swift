/// A rule of the domain that a value breaks (a field out of range, a missing field): the API answers it
/// with 400 and this message, which names the field.
public struct ValidationFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
