import EdmoCore
import EdmoStore
import EdmoProviders
import Foundation
import Synchronization

/// "Storage is full" goes to the log once a minute, not once per failing request.
public final class StorageAlarm: Sendable {
    private let lastReport = Mutex<Date?>(nil)

    public init() {}

    public func shouldReport(now: Date = Date()) -> Bool {
        lastReport.withLock { last in
            if let last, now.timeIntervalSince(last) < 60 { return false }
            last = now
            return true
        }
    }
}
