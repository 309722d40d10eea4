import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import Foundation

/// /api/phone-numbers: list and create as the seed says, plus get, rename/attach/detach, and release.
/// Twilio and Vonage credentials are stored sealed and never returned or logged.
enum PhoneNumberRoutes {
    struct CreateBody: Decodable {
        enum Provider: String, Decodable { case edmo, twilio, vonage }
        let provider: Provider
        let assistantId: String?
        let name: String?
        let numberDesiredAreaCode: String?
        let twilioPhoneNumber: String?
        let twilioAccountSid: String?
        let twilioAuthToken: String?
        let vonageApiKey: String?
        let vonageApiSecret: String?
        let vonagePhoneNumber: String?
    }

    struct UpdateBody: Decodable {
        let name: Patch<String>
        let assistantId: Patch<String>
    }

    struct PhoneNumberJSON: Encodable {
        let id: String
        let provider: String
        let number: String
        @Nullable var assistantId: String?
        @Nullable var name: String?
        @Nullable var providerId: String?
        let createdAt: String
        let updatedAt: String

        init(_ r: PhoneNumberRecord) {
            id = r.id; provider = r.provider; number = r.number; assistantId = r.assistantId; name = r.name
            providerId = r.providerId; createdAt = r.createdAt; updatedAt = r.updatedAt
        }
    }

    static func list(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.phoneNumbers, .read, request, context)
        let page = try Validate.page(request)
        if context.platform != nil { ProviderSync(context: context).syncPhoneNumbers() }
        let result = try context.resources.phoneNumbers(orgId: principal.orgId, limit: page.limit, offset: page.offset)
        var response = try Response.json(result.items.map(PhoneNumberJSON.init))
        response.addHeader("X-Total-Count", String(result.total))
        return response
    }

    static func get(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.phoneNumbers, .read, request, context)
        let record = try find(principal, request, context)
        return try Response.json(PhoneNumberJSON(record)).withETag(record.version)
    }

    static func find(_ principal: Principal, _ request: Request, _ context: AppContext) throws -> PhoneNumberRecord {
        guard let record = try context.resources.phoneNumber(orgId: principal.orgId, id: request.param("id")) else {
            throw APIError.notFound("Phone number")
        }
        return record
    }

    static func create(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.phoneNumbers, .write, request, context)
        let body = try JSON.decode(CreateBody.self, from: request)
        try Validate.text(body.name, field: "name", max: 200)
        let assistant = try body.assistantId.map { try assistantRecord($0, principal, context) }
        let id = context.ids.next("pn")
        let now = Timestamp.format(context.now)
        var record = PhoneNumberRecord(
            id: id, orgId: principal.orgId, provider: body.provider.rawValue, number: "", name: body.name,
            assistantId: assistant?.id, providerId: nil, credentials: nil, createdAt: now, updatedAt: now)
        var payload: [String: JSONValue] = [:]
        if let name = body.name { payload["name"] = .string(name) }
        if let remoteAssistant = assistant?.providerId { payload["assistantId"] = .string(remoteAssistant) }
        var vonageCredentials: (key: String, secret: String)?

        switch body.provider {
        case .edmo:
            guard context.platform != nil else {
                throw APIError.badRequest(
                    "Edmo-provided numbers need a voice platform: set EDMO_PROVIDER=vapi with EDMO_PROVIDER_URL and EDMO_PROVIDER_API_KEY, or import a Twilio or Vonage number")
            }
            let code = try required(body.numberDesiredAreaCode, "numberDesiredAreaCode")
            guard code.count == 3, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw APIError.badRequest("Invalid value for field: numberDesiredAreaCode (three digits)")
            }
            payload["provider"] = .string("vapi")
            payload["numberDesiredAreaCode"] = .string(code)
        case .twilio:
            record.number = try required(body.twilioPhoneNumber, "twilioPhoneNumber")
            try Validate.e164(record.number, field: "twilioPhoneNumber")
            let sid = try required(body.twilioAccountSid, "twilioAccountSid")
            guard sid.count == 34, sid.hasPrefix("AC"), sid.dropFirst(2).allSatisfy(\.isHexDigit) else {
                throw APIError.badRequest("Invalid value for field: twilioAccountSid (AC followed by 32 hex digits)")
            }
            let token = try required(body.twilioAuthToken, "twilioAuthToken")
            try Validate.text(token, field: "twilioAuthToken", max: 200)
            record.credentials = try context.seal(try JSON.encode(["twilioAccountSid": sid, "twilioAuthToken": token]))
            payload["provider"] = .string("twilio")
            payload["number"] = .string(record.number)
            payload["twilioAccountSid"] = .string(sid)
            payload["twilioAuthToken"] = .string(token)
        case .vonage:
            record.number = try required(body.vonagePhoneNumber, "vonagePhoneNumber")
            try Validate.e164(record.number, field: "vonagePhoneNumber")
            let key = try required(body.vonageApiKey, "vonageApiKey")
            let secret = try required(body.vonageApiSecret, "vonageApiSecret")
            try Validate.text(key, field: "vonageApiKey", max: 200)
            try Validate.text(secret, field: "vonageApiSecret", max: 200)
            record.credentials = try context.seal(try JSON.encode(["vonageApiKey": key, "vonageApiSecret": secret]))
            payload["provider"] = .string("vonage")
            payload["number"] = .string(record.number)
            vonageCredentials = (key, secret)
        }
        if !record.number.isEmpty, try context.resources.phoneNumberExists(number: record.number) {
            throw APIError.conflict("The number \(record.number) is already registered")
        }

        try ProviderWrite(context: context).run(
            .phoneNumber, .create, orgId: principal.orgId, localId: id,
            remote: { platform -> JSONValue in
                if let vonage = vonageCredentials {
                    // Vapi takes Vonage numbers through a stored credential.
                    let credential = try platform.create(
                        "credential", .object(["provider": .string("vonage"), "apiKey": .string(vonage.key), "apiSecret": .string(vonage.secret)]))
                    payload["credentialId"] = .string(try VoicePlatform.id(of: credential))
                }
                return try platform.create("phone-number", .object(payload))
            },
            local: { created, operation in
                if let created {
                    record.providerId = try VoicePlatform.id(of: created)
                    if let number = created["number"]?.stringValue, !number.isEmpty { record.number = number }
                    guard !record.number.isEmpty else { throw ProviderError.failed("the platform's answer has no number") }
                }
                var changes = try self.changes(from: nil, to: record)
                // Twilio's or Vonage's credentials: that they were given, never what they are.
                if record.credentials != nil { changes["credentials"] = AuditTrail.secretChange(old: nil, new: true) }
                try principal.audit(request, context, "phone_number.create", AuditTarget("phone_number", record.id), changes) {
                    try context.resources.insertPhoneNumber(record, completing: operation)
                }
            },
            compensate: { platform, created in
                if let providerId = created["id"]?.stringValue { try platform.delete("phone-number", id: providerId) }
            })
        return try Response.json(PhoneNumberJSON(record), status: 201).withETag(record.version)
    }

    /// Rename, attach (`assistantId`) or detach (`assistantId: null`). Only the fields given change: the
    /// platform gets just those, and the local write is conditional on the version read (re-read and
    /// re-applied when another writer got in between), so concurrent changes of different fields all stay.
    static func update(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.phoneNumbers, .write, request, context)
        let body = try JSON.decode(UpdateBody.self, from: request)
        var payload: [String: JSONValue] = [:]
        var name: String?? = nil
        switch body.name {
        case .absent: break
        case .null: name = .some(nil); payload["name"] = .null
        case .value(let value):
            try Validate.text(value, field: "name", max: 200)
            name = value
            payload["name"] = .string(value)
        }
        var assistantId: String?? = nil
        switch body.assistantId {
        case .absent: break
        case .null: assistantId = .some(nil); payload["assistantId"] = .null
        case .value(let id):
            let assistant = try assistantRecord(id, principal, context)
            assistantId = assistant.id
            payload["assistantId"] = assistant.providerId.map(JSONValue.string) ?? .null
        }
        let record = try OptimisticWrite.run(context, key: "phone/\(principal.orgId)/\(request.param("id"))") {
            var record = try find(principal, request, context)
            let before = record
            try ETag.check(request, version: record.version)
            if let name { record.name = name }
            if let assistantId { record.assistantId = assistantId }
            record.updatedAt = Timestamp.format(context.now)
            try ProviderWrite(context: context).run(
                .phoneNumber, .update, orgId: principal.orgId, localId: record.id,
                remote: { platform in
                    if let providerId = record.providerId, !payload.isEmpty {
                        _ = try platform.update("phone-number", id: providerId, .object(payload))
                    }
                },
                local: { _, operation in
                    record.version = try principal.audit(
                        request, context, "phone_number.update", AuditTarget("phone_number", record.id), try changes(from: before, to: record),
                        skipEmpty: true
                    ) { try context.resources.updatePhoneNumber(record, completing: operation) }
                },
                compensate: { platform, _ in
                    // Mirror what is stored now: another writer may have changed it since it was read.
                    guard let providerId = record.providerId, !payload.isEmpty else { return }
                    let current = try find(principal, request, context)
                    let assistant = try current.assistantId.flatMap { try context.resources.document(.assistant, orgId: principal.orgId, id: $0) }
                    _ = try platform.update("phone-number", id: providerId, .object([
                        "name": current.name.map(JSONValue.string) ?? .null,
                        "assistantId": assistant?.providerId.map(JSONValue.string) ?? .null,
                    ]))
                })
            return record
        }
        return try Response.json(PhoneNumberJSON(record)).withETag(record.version)
    }

    /// Releases the number at the platform (if it came from there) and forgets it locally.
    static func delete(_ request: Request, _ context: AppContext) throws -> Response {
        let principal = try Authenticator.require(.phoneNumbers, .write, request, context)
        let record = try find(principal, request, context)
        try ETag.check(request, version: record.version)
        do {
            try ProviderWrite(context: context).run(
                .phoneNumber, .delete, orgId: principal.orgId, localId: record.id,
                remote: { platform in
                    if let providerId = record.providerId { try platform.delete("phone-number", id: providerId) }
                },
                local: { _, operation in
                    // Once the platform has released it, the local copy goes too (If-Match was checked above).
                    let platformDeleted = context.platform != nil && record.providerId != nil
                    try principal.audit(request, context, "phone_number.delete", AuditTarget("phone_number", record.id), try changes(from: record, to: nil)) {
                        try context.resources.deletePhoneNumber(
                            orgId: principal.orgId, id: record.id,
                            version: platformDeleted ? nil : ETag.deleteVersion(request, read: record.version),
                            completing: operation)
                    }
                })
        } catch StoreError.stale {
            throw ETag.changed
        }
        return try Response.json(SuccessJSON())
    }

    /// A number's fields for the audit log (as the API shows them, without its ids and dates; the sealed
    /// credentials are never part of them).
    static func changes(from old: PhoneNumberRecord?, to new: PhoneNumberRecord?) throws -> [String: JSONValue] {
        let ignoring: Set<String> = ["id", "providerId", "createdAt", "updatedAt"]
        return AuditTrail.changes(
            from: try old.map { try AuditTrail.fields(PhoneNumberJSON($0), ignoring: ignoring) },
            to: try new.map { try AuditTrail.fields(PhoneNumberJSON($0), ignoring: ignoring) })
    }

    static func assistantRecord(_ id: String, _ principal: Principal, _ context: AppContext) throws -> DocumentRecord {
        guard let assistant = try context.resources.document(.assistant, orgId: principal.orgId, id: id) else {
            throw APIError.badRequest("Invalid value for field: assistantId (no such assistant)")
        }
        return assistant
    }

    static func required(_ value: String?, _ field: String) throws -> String {
        guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw APIError.badRequest("Missing required field: \(field)")
        }
        return value
    }
}
