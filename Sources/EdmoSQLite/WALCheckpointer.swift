import Foundation
import GRDB
import Synchronization

/// Copies the WAL back into the database file on a thread of its own, every 100 ms, so that no commit waits
/// for it. SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages, holding
/// the writer, and every write queued behind it, meanwhile: that was 8 % of the webhook reports' throughput
/// (bench/README "Issue 14, session 7"). The writer keeps an automatic checkpoint at 10,000 pages in case this
/// thread falls behind. A passive checkpoint waits for no reader and no writer; it copies what it can.
final class WALCheckpointer: Sendable {
    static let interval: useconds_t = 100_000
    static let writerFallbackPages = 10_000

    final class Flag: Sendable {
        let stopped = Atomic<Bool>(false)
    }

    private let flag = Flag()

    init(path: String) {
        let flag = flag
        Thread.detachNewThread {
            var connection: DatabaseQueue?
            while !flag.stopped.load(ordering: .relaxed) {
                usleep(Self.interval)
                // A failure (busy, the file gone) is tried again at the next turn; the writer's own checkpoint
                // is the backstop.
                do {
                    if connection == nil {
                        var config = Configuration()
                        config.busyMode = .timeout(1)
                        connection = try DatabaseQueue(path: path, configuration: config)
                    }
                    _ = try connection?.inDatabase { try $0.checkpoint(.passive) }
                } catch {
                    connection = nil
                }
            }
        }
    }

    deinit { flag.stopped.store(true, ordering: .relaxed) }
}
