import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// What `DocumentService` needs to know of a kind of configuration beyond its model: where it is kept,
/// and a tool's secret and URL rules. The defaults are an assistant's (no secret, no URLs).
public protocol StoredConfig: DocumentConfig {
    static var kind: DocumentKind { get }
    /// Sent to the platform, stored sealed apart from the body, never returned.
    var secret: String? { get }
    /// The configuration as stored and returned.
    func withoutSecret() -> Self
    /// A PATCH (RFC 7396 merge patch) applied to the stored configuration, secret included.
    static func merge(_ stored: JSONValue, _ patch: JSONValue) -> JSONValue
    /// Rules that need the deployment's settings; each failure names the field.
    func checkURLs(allowPrivate: Bool) throws
}

extension StoredConfig {
    public var secret: String? { nil }
    public func withoutSecret() -> Self { self }
    public static func merge(_ stored: JSONValue, _ patch: JSONValue) -> JSONValue { stored.merged(with: patch) }
    public func checkURLs(allowPrivate: Bool) throws {}
}

extension AssistantConfig: StoredConfig {
    public static let kind = DocumentKind.assistant
}

extension ToolConfig: StoredConfig {
    public static let kind = DocumentKind.tool

    public var secret: String? { server?.secret }

    public func withoutSecret() -> ToolConfig {
        var copy = self
        copy.server?.secret = nil
        return copy
    }

    /// Changing `server.url` drops the stored `server.secret` unless the same patch gives one: the platform
    /// sends the secret to that URL, so whoever may edit a tool must not be able to redirect a secret they
    /// cannot read.
    public static func merge(_ stored: JSONValue, _ patch: JSONValue) -> JSONValue {
        let merged = stored.merged(with: patch)
        guard merged["server"]?["url"] != stored["server"]?["url"], patch["server"]?["secret"] == nil,
              case .object(var fields) = merged, case .object(var server)? = fields["server"] else { return merged }
        server.removeValue(forKey: "secret")
        fields["server"] = .object(server)
        return .object(fields)
    }

    /// Tool and MCP server URLs may not point at this host or a private network (SSRF), unless
    /// EDMO_ALLOW_PRIVATE_URLS is set.
    public func checkURLs(allowPrivate: Bool) throws {
        guard !allowPrivate else { return }
        for (field, value) in [("url", url), ("server.url", server?.url)] {
            if let value, let host = URL(string: value)?.host, AddressGuard.isPrivateHost(host) {
                throw ValidationFailure("Invalid value for field: \(field) (not this host or a private network)")
            }
        }
    }
}

extension DocumentKind {
    /// The voice platform's collection.
    public var collection: String { self == .assistant ? "assistant" : "tool" }
    /// Stored and returned, never sent to the platform: a tool's `provider` label.
    public var localFields: Set<String> { self == .tool ? ["provider"] : [] }
    var idPrefix: String { self == .assistant ? "asst" : "tool" }
    var operation: ProviderOperation.Kind { self == .assistant ? .assistant : .tool }
}
