import Foundation

/// What a client may set on a tool: the seed's `Tool` union (function, apiRequest, mcp), discriminated by
/// `type`. The local `provider` label and `server.secret` are kept apart from this (see ToolRoutes).
public struct ToolConfig: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case function, apiRequest, mcp }
    public enum Method: String, Codable, Sendable { case GET, POST, PUT, PATCH, DELETE }

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

    public func validate() throws {
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
