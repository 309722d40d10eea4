import EdmoCore
import Foundation

/// Assistants and tools are stored alike: a JSON document per row.
public enum DocumentKind: String, Sendable {
    case assistant, tool

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
    /// Raised by every update; an update names the version it read and fails (`StoreError.stale`) when
    /// another writer got there first. The API shows it as the ETag.
    public var version: Int = 1

    public init(
        id: String, orgId: String, providerId: String? = nil, body: String, createdAt: String, updatedAt: String,
        version: Int = 1
    ) {
        self.id = id
        self.orgId = orgId
        self.providerId = providerId
        self.body = body
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }
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
    public var version: Int = 1
    /// Consecutive platform syncs that did not list the number (see `ProviderSync`).
    public var missingSyncs: Int = 0

    public init(
        id: String, orgId: String, provider: String, number: String, name: String? = nil,
        assistantId: String? = nil, providerId: String? = nil, credentials: [UInt8]? = nil, createdAt: String,
        updatedAt: String, version: Int = 1, missingSyncs: Int = 0
    ) {
        self.id = id
        self.orgId = orgId
        self.provider = provider
        self.number = number
        self.name = name
        self.assistantId = assistantId
        self.providerId = providerId
        self.credentials = credentials
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.missingSyncs = missingSyncs
    }
}

public enum OwnedKind: String, Sendable {
    case assistants, phoneNumbers = "phone_numbers"
}

public enum SecretChange: Sendable {
    case keep, clear, set([UInt8])
}

/// What `ResourceStore.changeDocument` writes: the new body, `updatedAt` and `providerId` of `record`, the
/// tool secret's change, and the outbound event and audit entry that go with it in the same transaction.
public struct DocumentChange: Sendable {
    public var record: DocumentRecord
    public var secret: SecretChange
    public var event: OutboxEvent?
    public var audit: AuditEntry?

    public init(record: DocumentRecord, secret: SecretChange = .keep, event: OutboxEvent? = nil, audit: AuditEntry? = nil) {
        self.record = record
        self.secret = secret
        self.event = event
        self.audit = audit
    }
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

    public init(
        id: String, orgId: String, kind: Kind, action: Action, localId: String, owner: String, startedAt: String
    ) {
        self.id = id
        self.orgId = orgId
        self.kind = kind
        self.action = action
        self.localId = localId
        self.owner = owner
        self.startedAt = startedAt
    }
}

/// Assistants, tools, phone numbers and in-flight provider operations. Every read and write is scoped by
/// organisation; `completing` removes a provider operation in the same transaction as the write.
/// Updates are conditional on `record.version` (the version the caller read) and return the new version;
/// they throw `StoreError.stale` when the row has moved on, `notFound` when it is gone. A delete with a
/// `version` is conditional the same way; with nil it is not.
public protocol ResourceStore: Sendable {
    func documents(_ kind: DocumentKind, orgId: String, limit: Int, offset: Int) throws -> (bodies: [String], total: Int)
    /// By local id or provider id.
    func document(_ kind: DocumentKind, orgId: String, id: String) throws -> DocumentRecord?
    /// `event` (outbound events) is written in the same transaction as the change.
    func insertDocument(
        _ kind: DocumentKind, _ record: DocumentRecord, secret: [UInt8]?, completing operation: String?, event: OutboxEvent?) throws
    @discardableResult
    func updateDocument(
        _ kind: DocumentKind, _ record: DocumentRecord, secret: SecretChange, completing operation: String?, event: OutboxEvent?
    ) throws -> Int
    /// Read, change and write one document in one write transaction, nothing else writing in between:
    /// `change` gets the row as it is now (by local or provider id) and its sealed tool secret, and answers
    /// what to write with it (its id, organisation and version are the row's). Returns the row as written.
    /// On SQLite the changes run one after the other on the single writer, each in its own savepoint of a
    /// shared commit, so concurrent changes of one row neither retry nor wait for each other's fsync; on
    /// PostgreSQL the row is locked (FOR UPDATE) until the commit. `change` may run on another caller's
    /// thread and must not use the stores; what it throws rolls back only its own change.
    func changeDocument(
        _ kind: DocumentKind, orgId: String, id: String, _ change: (DocumentRecord, _ sealedSecret: [UInt8]?) throws -> DocumentChange
    ) throws -> DocumentRecord
    func deleteDocument(
        _ kind: DocumentKind, orgId: String, id: String, version: Int?, completing operation: String?, event: OutboxEvent?) throws
    func toolSecret(toolId: String) throws -> [UInt8]?
    /// Sealed values of `table` in id order, across organisations: ids after `after` (nil: from the first) and,
    /// when `through` is given, up to it; at most `limit` (see `SealedValues.swift`).
    func sealedValues(_ table: SealedTable, after: String?, through: String?, limit: Int) throws -> [SealedValue]
    /// In one transaction, sets each value whose row still holds exactly `change.old` (compare-and-swap: a
    /// value written meanwhile is left alone); returns the ids changed. Versions and `updated_at` stay: the
    /// credential is the same, only its sealing changed.
    func replaceSealedValues(_ table: SealedTable, _ changes: [SealedChange]) throws -> [String]

    func phoneNumbers(orgId: String, limit: Int, offset: Int) throws -> (items: [PhoneNumberRecord], total: Int)
    func phoneNumber(orgId: String, id: String) throws -> PhoneNumberRecord?
    func phoneNumbersWithProviderIds() throws -> [PhoneNumberRecord]
    func phoneNumberExists(number: String) throws -> Bool
    func insertPhoneNumber(_ record: PhoneNumberRecord, completing operation: String?) throws
    @discardableResult
    func updatePhoneNumber(_ record: PhoneNumberRecord, completing operation: String?) throws -> Int
    func deletePhoneNumber(orgId: String, id: String, version: Int?, completing operation: String?) throws
    func setPhoneNumberMissingSyncs(id: String, _ count: Int) throws

    /// Which organisation an assistant or phone number (local or platform id) belongs to, across all orgs:
    /// for webhooks, which name no organisation.
    func owner(_ kind: OwnedKind, id: String) throws -> (orgId: String, localId: String)?

    func beginOperation(_ operation: ProviderOperation) throws
    func endOperation(id: String) throws
    func pendingOperations() throws -> [ProviderOperation]
    /// True for the one caller that takes the job's turn: at most once per `interval`, across every
    /// process and host on this database.
    func claimJob(_ name: String, every interval: TimeInterval, now: Date) throws -> Bool
    func organizationCount() throws -> Int
    func soleOrganizationId() throws -> String?
}

extension ResourceStore {
    public func insertDocument(_ kind: DocumentKind, _ record: DocumentRecord, secret: [UInt8]?, completing operation: String?) throws {
        try insertDocument(kind, record, secret: secret, completing: operation, event: nil)
    }

    @discardableResult
    public func updateDocument(_ kind: DocumentKind, _ record: DocumentRecord, secret: SecretChange, completing operation: String?) throws -> Int {
        try updateDocument(kind, record, secret: secret, completing: operation, event: nil)
    }

    public func deleteDocument(_ kind: DocumentKind, orgId: String, id: String, version: Int?, completing operation: String?) throws {
        try deleteDocument(kind, orgId: orgId, id: id, version: version, completing: operation, event: nil)
    }
}
