import Foundation

/// Assistants and tools are stored alike: a JSON document per row.
public enum DocumentKind: String, Sendable {
    case assistant, tool

    var table: String { self == .assistant ? "assistants" : "tools" }
    public var label: String { self == .assistant ? "Assistant" : "Tool" }
}

public struct DocumentRecord: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var providerId: String?
    /// The full JSON object the API returns.
    public var body: String
    public var createdAt: String
    public var updatedAt: String
}

public struct PhoneNumberRecord: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var provider: String
    public var number: String
    public var name: String?
    public var assistantId: String?
    public var providerId: String?
    public var credentials: [UInt8]?
    public var createdAt: String
    public var updatedAt: String
}

public enum OwnedKind: String, Sendable {
    case assistants, phoneNumbers = "phone_numbers"
}

public enum SecretChange: Sendable {
    case keep, clear, set([UInt8])
}

/// A provider call in flight (see ProviderSync for what a leftover one means).
public struct ProviderOperation: Sendable, Equatable {
    public enum Kind: String, Sendable { case assistant, tool, phoneNumber }
    public enum Action: String, Sendable { case create, update, delete }
    public var id: String
    public var orgId: String
    public var kind: Kind
    public var action: Action
    public var localId: String
    public var owner: String
    public var startedAt: String
}

/// Assistants, tools, phone numbers and in-flight provider operations. Every read and write is scoped by
/// organisation; `completing` removes a provider operation in the same transaction as the write.
public protocol ResourceStore: Sendable {
    func documents(_ kind: DocumentKind, orgId: String, limit: Int, offset: Int) throws -> (bodies: [String], total: Int)
    /// By local id or provider id.
    func document(_ kind: DocumentKind, orgId: String, id: String) throws -> DocumentRecord?
    func insertDocument(_ kind: DocumentKind, _ record: DocumentRecord, secret: [UInt8]?, completing operation: String?) throws
    func updateDocument(_ kind: DocumentKind, _ record: DocumentRecord, secret: SecretChange, completing operation: String?) throws
    func deleteDocument(_ kind: DocumentKind, orgId: String, id: String, completing operation: String?) throws
    func toolSecret(toolId: String) throws -> [UInt8]?

    func phoneNumbers(orgId: String, limit: Int, offset: Int) throws -> (items: [PhoneNumberRecord], total: Int)
    func phoneNumber(orgId: String, id: String) throws -> PhoneNumberRecord?
    func phoneNumbersWithProviderIds() throws -> [PhoneNumberRecord]
    func phoneNumberExists(number: String) throws -> Bool
    func insertPhoneNumber(_ record: PhoneNumberRecord, completing operation: String?) throws
    func updatePhoneNumber(_ record: PhoneNumberRecord, completing operation: String?) throws
    func deletePhoneNumber(orgId: String, id: String, completing operation: String?) throws

    /// Which organisation an assistant or phone number (local or platform id) belongs to, across all orgs:
    /// for webhooks, which name no organisation.
    func owner(_ kind: OwnedKind, id: String) throws -> (orgId: String, localId: String)?

    func beginOperation(_ operation: ProviderOperation) throws
    func endOperation(id: String) throws
    func pendingOperations() throws -> [ProviderOperation]
    func organizationCount() throws -> Int
    func soleOrganizationId() throws -> String?
}
