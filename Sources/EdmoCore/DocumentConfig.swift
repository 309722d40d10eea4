/// An assistant's or a tool's configuration: what a client sets, decoded from a body in one pass. The
/// server adds the fields it owns when it stores one.
public protocol DocumentConfig: RequestBody, Encodable, Sendable {
    /// Range and length rules the types alone do not say; each failure names the field.
    func validate() throws
}

extension DocumentConfig {
    public static var serverFields: Set<String> { ServerFields.document }
}

public enum ServerFields {
    /// Set by the server on every assistant and tool, never taken from a body.
    public static let document: Set<String> = ["id", "orgId", "createdAt", "updatedAt", "providerId"]
}
