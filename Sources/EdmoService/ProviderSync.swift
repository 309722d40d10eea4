import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// Keeps the local copy in step with the voice platform (`EDMO_PROVIDER=vapi`).
public struct ProviderSync {
    public let context: AppContext

    /// The platform's numbers are the truth: known ones get the platform's number, local labels (name,
    /// assistant) stay, and numbers bought outside Edmo are imported only when the deployment has a single
    /// organisation (otherwise nobody can say whose they are). A number the platform does not list is only
    /// marked missing; it is deleted (sealed credentials with it) when a second sync, at least
    /// EDMO_PHONE_SYNC_SECONDS later, misses it too. Nothing is marked when the list failed, could not be
    /// paged to its end, or came back empty while numbers are known here.
    /// Runs at most once per EDMO_PHONE_SYNC_SECONDS for the whole deployment (the platform account is
    /// shared): the turn is claimed in the database, so one request of one host does it.
    public func syncPhoneNumbers() {
        guard context.platform != nil else { return }
        do {
            guard try context.resources.claimJob(
                "phone-number-sync", every: TimeInterval(context.config.phoneSyncSeconds), now: context.now) else { return }
        } catch {
            context.log.error("cannot claim the phone number sync: \(error)")
            return
        }
        syncPhoneNumbersNow()
    }

    public func syncPhoneNumbersNow() {
        guard let platform = context.platform else { return }
        do {
            let (remote, complete) = try platform.listAll("phone-number")
            let local = try context.resources.phoneNumbersWithProviderIds()
            let byProviderId = Dictionary(local.map { ($0.providerId!, $0) }, uniquingKeysWith: { a, _ in a })
            let remoteIds = Set(remote.compactMap { $0["id"]?.stringValue })
            let now = Timestamp.format(context.now)
            for item in remote {
                guard let providerId = item["id"]?.stringValue, let number = item["number"]?.stringValue, !number.isEmpty else { continue }
                if var known = byProviderId[providerId] {
                    if known.missingSyncs > 0 { try context.resources.setPhoneNumberMissingSyncs(id: known.id, 0) }
                    if known.number != number {
                        known.number = number
                        known.updatedAt = now
                        try context.resources.updatePhoneNumber(known, completing: nil)
                    }
                } else if let orgId = try context.resources.soleOrganizationId(),
                          let provider = Self.localProvider(item["provider"]?.stringValue),
                          !(try context.resources.phoneNumberExists(number: number)) {
                    var assistantId: String?
                    if let remoteAssistant = item["assistantId"]?.stringValue {
                        assistantId = try context.resources.document(.assistant, orgId: orgId, id: remoteAssistant)?.id
                    }
                    try context.resources.insertPhoneNumber(
                        PhoneNumberRecord(
                            id: context.ids.next("pn"), orgId: orgId, provider: provider, number: number,
                            name: item["name"]?.stringValue, assistantId: assistantId, providerId: providerId,
                            credentials: nil, createdAt: now, updatedAt: now),
                        completing: nil)
                }
            }
            let missing = local.filter { !remoteIds.contains($0.providerId!) }
            guard !missing.isEmpty else { return }
            guard complete, !remote.isEmpty else {
                context.log.error(
                    "phone number sync: the platform's list is \(complete ? "empty" : "incomplete"); \(missing.count) local numbers not in it are kept")
                return
            }
            for gone in missing {
                if gone.missingSyncs >= 1 {
                    try context.resources.deletePhoneNumber(orgId: gone.orgId, id: gone.id, version: nil, completing: nil)
                    context.log.info("phone number \(gone.id) is gone from the voice platform; deleted")
                } else {
                    try context.resources.setPhoneNumberMissingSyncs(id: gone.id, gone.missingSyncs + 1)
                }
            }
        } catch {
            context.log.error("phone number sync with the voice platform failed; serving the local list: \(error)")
        }
    }

    public static func localProvider(_ remote: String?) -> String? {
        switch remote {
        case "vapi": "edmo"
        case "twilio": "twilio"
        case "vonage": "vonage"
        default: nil
        }
    }

    /// Settles provider operations left by a process that died mid-write (see ProviderWrite):
    /// - create: whatever the platform made for it (found by `metadata.edmoId`) is deleted; the local write
    ///   never happened, so the client saw a failure and nothing is orphaned;
    /// - update: the local copy is pushed again, so both sides agree on what the client last saw succeed;
    /// - delete: the platform delete is repeated (a 404 is fine), then the local row goes (an assistant's
    ///   with its `assistant.deleted` event).
    /// Operations of live processes on this host are left alone; others' only after ten minutes.
    public func recover() {
        guard let platform = context.platform else { return }
        let operations: [ProviderOperation]
        do { operations = try context.resources.pendingOperations() } catch {
            context.log.error("cannot read pending provider operations: \(error)")
            return
        }
        // One phone-number sync per pass, however many number creates were left: two syncs in a row would
        // delete a number that one list happened to miss.
        var synced = false
        for operation in operations where isAbandoned(operation) {
            do {
                if operation.kind == .phoneNumber && operation.action == .create {
                    if !synced { syncPhoneNumbersNow() }
                    synced = true
                } else {
                    try settle(operation, platform)
                }
                try context.resources.endOperation(id: operation.id)
                context.log.info("recovered provider \(operation.action.rawValue) of \(operation.kind.rawValue) \(operation.localId)")
            } catch {
                context.log.error("could not recover provider operation \(operation.id): \(error)")
            }
        }
    }

    public func settle(_ op: ProviderOperation, _ platform: any VoicePlatformAPI) throws {
        let kind: DocumentKind? = op.kind == .assistant ? .assistant : op.kind == .tool ? .tool : nil
        let collection = op.kind == .assistant ? "assistant" : op.kind == .tool ? "tool" : "phone-number"
        switch op.action {
        case .create:
            guard kind != nil else { return }  // phone numbers: one sync per `recover` pass
            for item in try platform.listAll(collection).items where item["metadata"]?["edmoId"]?.stringValue == op.localId {
                if let providerId = item["id"]?.stringValue { try platform.delete(collection, id: providerId) }
            }
        case .update:
            guard let kind, let record = try context.resources.document(kind, orgId: op.orgId, id: op.localId),
                  let providerId = record.providerId else { return }
            let document = try Document(platform: record, kind, context)
            _ = try platform.update(collection, id: providerId, Document.tagged(document.config, id: record.id))
        case .delete:
            if let kind {
                guard let record = try context.resources.document(kind, orgId: op.orgId, id: op.localId) else { return }
                if let providerId = record.providerId { try platform.delete(collection, id: providerId) }
                // Subscribers hear of it as of any other deletion: the assistant is gone, whoever finished it.
                let event = kind == .assistant ? try OutboundEvents.assistant(context, EventType.assistantDeleted, record, deleted: true) : nil
                try context.resources.deleteDocument(kind, orgId: op.orgId, id: record.id, version: nil, completing: nil, event: event)
            } else if let record = try context.resources.phoneNumber(orgId: op.orgId, id: op.localId) {
                if let providerId = record.providerId { try platform.delete(collection, id: providerId) }
                try context.resources.deletePhoneNumber(orgId: op.orgId, id: record.id, version: nil, completing: nil)
            }
        }
    }

    public func isAbandoned(_ op: ProviderOperation) -> Bool {
        if let started = Timestamp.parse(op.startedAt), context.now.timeIntervalSince(started) > 600 { return true }
        let parts = op.owner.split(separator: "/")
        guard parts.count == 2, String(parts[0]) == ProcessInfo.processInfo.hostName, let pid = Int32(parts[1]) else { return false }
        if pid == getpid() { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    public init(
        context: AppContext
    ) {
        self.context = context
    }
}
