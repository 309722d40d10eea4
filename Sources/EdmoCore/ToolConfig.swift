import Foundation

/// What a client may set on a tool: the seed's `Tool` union (function, apiRequest, mcp), discriminated by
/// `type`, plus the `provider` label. The services keep the label from the platform and `server.secret`
/// from responses (see `StoredConfig`).
public struct ToolConfig: DocumentConfig, Codable, Equatable {
    public enum Kind: String, Codable, Sendable { case function, apiRequest, mcp }
    public enum Method: String, Codable, Sendable { case GET, POST, PUT, PATCH, DELETE }

    /// The fields the seed marks nullable; a null anywhere else in a create body is a 400.
    public static let nullableFields: Set<String> = [
        "provider", "async", "messages", "server", "server.secret", "server.timeoutSeconds", "description",
        "timeoutSeconds", "name", "metadata", "metadata.*", "function.parameters.properties.*",
    ]

    /// A label for grouping tools ("salesforce"), stored locally only; empty means none.
    public var provider: String?
    public var type: Kind
    public var async: Bool?
    public var messages: [ToolMessage]?
    // function
    public var function: FunctionDefinition?
    // function (url, secret, timeoutSeconds) and mcp (url)
    public var server: Server?
    // apiRequest (name, description also name an mcp tool)
    public var name: String?
    public var description: String?
    public var method: Method?
    public var url: String?
    public var timeoutSeconds: Int?
    // mcp
    public var metadata: [String: JSONValue]?

    public struct ToolMessage: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable {
            case requestStart = "request-start", requestComplete = "request-complete"
            case requestFailed = "request-failed", requestResponseDelayed = "request-response-delayed"
        }
        public var type: Kind
        public var content: String
    }

    public struct FunctionDefinition: Codable, Equatable, Sendable {
        public var name: String
        public var description: String
        public var parameters: Parameters
    }

    public struct Parameters: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable { case object }
        public var type: Kind?
        public var properties: [String: ToolParameter]?
        public var required: [String]?
    }

    public struct Server: Codable, Equatable, Sendable {
        public var url: String
        public var secret: String?
        public var timeoutSeconds: Int?
    }

    /// Synthesized but for `provider`, which is read first and named with what it must be.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do {
            provider = try c.decodeIfPresent(String.self, forKey: .provider).flatMap { $0.isEmpty ? nil : $0 }
        } catch is DecodingError {
            throw ValidationFailure("Invalid value for field: provider (a string)")
        }
        type = try c.decode(Kind.self, forKey: .type)
        async = try c.decodeIfPresent(Bool.self, forKey: .async)
        messages = try c.decodeIfPresent([ToolMessage].self, forKey: .messages)
        function = try c.decodeIfPresent(FunctionDefinition.self, forKey: .function)
        server = try c.decodeIfPresent(Server.self, forKey: .server)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        method = try c.decodeIfPresent(Method.self, forKey: .method)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        timeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .timeoutSeconds)
        metadata = try c.decodeIfPresent([String: JSONValue].self, forKey: .metadata)
    }

    public func validate() throws {
        try Validate.text(provider, field: "provider", max: 100)
        if let messages {
            guard messages.count <= 20 else { throw ValidationFailure("Invalid value for field: messages (at most 20)") }
            for (i, m) in messages.enumerated() { try Validate.text(m.content, field: "messages[\(i)].content", max: 1000) }
        }
        try Validate.text(name, field: "name", max: 200)
        try Validate.text(description, field: "description", max: 2000)
        if let server {
            try Validate.httpURL(server.url, field: "server.url")
            try Validate.text(server.secret, field: "server.secret", max: 500)
            try Self.timeout(server.timeoutSeconds, field: "server.timeoutSeconds")
        }
        try Self.timeout(timeoutSeconds, field: "timeoutSeconds")
        switch type {
        case .function:
            guard let function else { throw ValidationFailure("Missing required field: function") }
            let validName = function.name.utf8.count <= 64 && !function.name.isEmpty
                && function.name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
            guard validName else {
                throw ValidationFailure("Invalid value for field: function.name (1 to 64 letters, digits, _ or -)")
            }
            try Validate.text(function.description, field: "function.description", max: 2000)
            for (key, parameter) in function.parameters.properties ?? [:] {
                try parameter.validate(field: "function.parameters.properties.\(key)", depth: 0)
            }
            let known = Set((function.parameters.properties ?? [:]).keys)
            if let missing = function.parameters.required?.first(where: { !known.contains($0) }) {
                throw ValidationFailure("Invalid value for field: function.parameters.required (\(missing) is not a property)")
            }
        case .apiRequest:
            guard let url else { throw ValidationFailure("Missing required field: url") }
            try Validate.httpURL(url, field: "url")
            guard method != nil else { throw ValidationFailure("Missing required field: method") }
        case .mcp:
            guard server != nil else { throw ValidationFailure("Missing required field: server") }
        }
    }

    static func timeout(_ value: Int?, field: String) throws {
        if let value, !(1...300).contains(value) {
            throw ValidationFailure("Invalid value for field: \(field) (1 to 300)")
        }
    }
}

/// JSON Schema-style description of one input field (recursive through `items` and `properties`).
public final class ToolParameter: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case string, number, boolean, object, array }
    public let type: Kind
    public let description: String?
    public let `enum`: [String]?
    public let items: ToolParameter?
    public let properties: [String: ToolParameter]?

    public static func == (a: ToolParameter, b: ToolParameter) -> Bool {
        a.type == b.type && a.description == b.description && a.enum == b.enum && a.items == b.items
            && a.properties == b.properties
    }

    func validate(field: String, depth: Int) throws {
        guard depth < 8 else { throw ValidationFailure("Invalid value for field: \(field) (nested too deeply)") }
        try Validate.text(description, field: "\(field).description", max: 2000)
        try items?.validate(field: "\(field).items", depth: depth + 1)
        for (key, child) in properties ?? [:] {
            try child.validate(field: "\(field).properties.\(key)", depth: depth + 1)
        }
    }
}
