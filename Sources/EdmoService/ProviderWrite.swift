import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// "Provider first, then the local copy", made safe:
/// 1. a `provider_operations` row is committed before the call;
/// 2. the provider call runs; if it fails, the row is removed and nothing local changes;
/// 3. the local write runs and removes the row in the same transaction;
/// 4. if the local write fails, `compensate` undoes the provider side; if that fails too, the row stays
///    and `ProviderSync.recover` settles it later (this process's rows once it has exited, or after ten minutes).
/// A crash between 2 and 3 leaves the row, and `ProviderSync.recover` settles it at the next start.
/// In local mode (no platform) only the local write runs.
public struct ProviderWrite {
    public let context: AppContext

    public func run<Remote>(
        _ kind: ProviderOperation.Kind, _ action: ProviderOperation.Action, orgId: String, localId: String,
        remote: (any VoicePlatformAPI) throws -> Remote,
        local: (Remote?, _ operation: String?) throws -> Void,
        compensate: (any VoicePlatformAPI, Remote) throws -> Void = { _, _ in }
    ) throws {
        guard let platform = context.platform else {
            try local(nil, nil)
            return
        }
        let operation = ProviderOperation(
            id: context.ids.next("op"), orgId: orgId, kind: kind, action: action, localId: localId,
            owner: context.owner, startedAt: Timestamp.format(context.now))
        try context.resources.beginOperation(operation)
        let result: Remote
        do {
            result = try remote(platform)
        } catch {
            try? context.resources.endOperation(id: operation.id)
            throw error
        }
        do {
            try local(result, operation.id)
        } catch {
            context.log.error("local \(action.rawValue) of \(kind.rawValue) \(localId) failed after the provider accepted it; compensating: \(error)")
            do {
                try compensate(platform, result)
                try? context.resources.endOperation(id: operation.id)
            } catch let compensation {
                context.log.error("could not undo the provider \(action.rawValue) of \(kind.rawValue) \(localId) (\(compensation)); left for recovery")
            }
            throw error
        }
    }

    public init(
        context: AppContext
    ) {
        self.context = context
    }
}
