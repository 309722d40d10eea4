import Foundation

/// Keeps the local copy in step with the voice platform (`EDMO_PROVIDER=vapi`).
struct ProviderSync {
    let context: AppContext

    /// The platform's numbers are the truth: numbers released there are dropped here, known ones get the
    /// platform's number, local labels (name, assistant) stay. Numbers bought outside Edmo are imported
    /// only when the deployment has a single organisation (otherwise nobody can say whose they are).
    /// A platform failure leaves the local list as it is.
    func syncPhoneNumbers() {
        guard let platform = context.platform else { return }
        do {
            let remote = try platform.list("phone-number")
            let local = try context.resources.phoneNumbersWithProviderIds()
            let byProviderId = Dictionary(local.map { ($0.providerId!, $0) }, uniquingKeysWith: { a, _ in a })
            let remoteIds = Set(remote.compactMap { $0["id"]?.stringValue })
            let now = Timestamp.format(context.now)
            for item in remote {
                guard let providerId = item["id"]?.stringValue, let number = item["number"]?.stringValue, !number.isEmpty else { continue }
                if var known = byProviderId[providerId] {
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
            for gone in local where !remoteIds.contains(gone.providerId!) {
                try context.resources.deletePhoneNumber(orgId: gone.orgId, id: gone.id, completing: nil)
            }
        } catch {
            context.log.error("phone number sync with the voice platform failed; serving the local list: \(error)")
        }
    }

    static func localProvider(_ remote: String?) -> String? {
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
    /// - delete: the platform delete is repeated (a 404 is fine), then the local row goes.
    /// Operations of live processes on this host are left alone; others' only after ten minutes.
    func recover() {
        guard let platform = context.platform else { return }
        let operations: [ProviderOperation]
        do { operations = try context.resources.pendingOperations() } catch {
            context.log.error("cannot read pending provider operations: \(error)")
            return
        }
        for operation in operations where isAbandoned(operation) {
            do {
                try settle(operation, platform)
                try context.resources.endOperation(id: operation.id)
                context.log.info("recovered provider \(operation.action.rawValue) of \(operation.kind.rawValue) \(operation.localId)")
            } catch {
                context.log.error("could not recover provider operation \(operation.id): \(error)")
            }
        }
    }

    func settle(_ op: ProviderOperation, _ platform: VoicePlatform) throws {
        let kind: DocumentKind? = op.kind == .assistant ? .assistant : op.kind == .tool ? .tool : nil
        let collection = op.kind == .assistant ? "assistant" : op.kind == .tool ? "tool" : "phone-number"
        switch op.action {
        case .create:
            if kind == nil {
                syncPhoneNumbers()
                return
            }
            for item in try platform.list(collection) where item["metadata"]?["edmoId"]?.stringValue == op.localId {
                if let providerId = item["id"]?.stringValue { try platform.delete(collection, id: providerId) }
            }
        case .update:
            guard let kind, let record = try context.resources.document(kind, orgId: op.orgId, id: op.localId),
                  let providerId = record.providerId else { return }
            var document = try Document(stored: record, localKeys: kind == .tool ? ["provider"] : [])
            if kind == .tool, let sealed = try context.resources.toolSecret(toolId: record.id),
               case .object(var server)? = document.config["server"] {
                server["secret"] = .string(String(decoding: try context.unseal(sealed), as: UTF8.self))
                document.config["server"] = .object(server)
            }
            _ = try platform.update(collection, id: providerId, DocumentRoutes.tagged(document.config, id: record.id))
        case .delete:
            if let kind {
                guard let record = try context.resources.document(kind, orgId: op.orgId, id: op.localId) else { return }
                if let providerId = record.providerId { try platform.delete(collection, id: providerId) }
                try context.resources.deleteDocument(kind, orgId: op.orgId, id: record.id, completing: nil)
            } else if let record = try context.resources.phoneNumber(orgId: op.orgId, id: op.localId) {
                if let providerId = record.providerId { try platform.delete(collection, id: providerId) }
                try context.resources.deletePhoneNumber(orgId: op.orgId, id: record.id, completing: nil)
            }
        }
    }

    func isAbandoned(_ op: ProviderOperation) -> Bool {
        if let started = Timestamp.parse(op.startedAt), context.now.timeIntervalSince(started) > 600 { return true }
        let parts = op.owner.split(separator: "/")
        guard parts.count == 2, String(parts[0]) == ProcessInfo.processInfo.hostName, let pid = Int32(parts[1]) else { return false }
        if pid == getpid() { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
