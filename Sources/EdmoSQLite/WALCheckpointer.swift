import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the WAL back into the database file on a thread of its own, every 100 ms, so that no commit waits
/// for it, and starts the WAL over once it is long and all copied. SQLite's automatic checkpoint runs inside
/// the commit that takes the WAL past 1,000 pages, holding the writer, and every write queued behind it,
/// meanwhile: that was 8 % of the webhook reports' throughput (bench/README "Issue 14, session 7"). The writer
/// keeps an automatic checkpoint at 10,000 pages in case this thread falls behind.
///
/// Why this thread also restarts the WAL: a passive checkpoint never does, and under a steady stream of
/// writes the WAL was only ever restarted by the writer's own checkpoint at 10,000 pages, which flushed the
/// tens of megabytes copied since the last flush while it held the writer: a commit of 50-60 ms twice a
/// second, every request in flight waiting behind it (bench/README "Issue 14, session 8"). Here the flushing
/// is done without holding anything, and the restart holds the writer only for the last few frames.
public final class WALCheckpointer: Sendable {
    static let interval: useconds_t = 100_000
    static let writerFallbackPages = 10_000
    /// The WAL is started over once it holds this many frames, all copied: 16 MiB of 4 KiB pages.
    public static let restartFrames = 4_000

    final class Flag: Sendable {
        let stopped = Atomic<Bool>(false)
    }

    private let flag = Flag()

    init(path: String, restartFrames: Int = WALCheckpointer.restartFrames) {
        let flag = flag
        Thread.detachNewThread {
            var session: Session?
            while !flag.stopped.load(ordering: .relaxed) {
                usleep(Self.interval)
                // A failure (the file gone, the disk full) is tried again at the next turn, on a new connection;
                // the writer's own checkpoint is the backstop.
                do {
                    if session == nil { session = try Session(path: path) }
                    try session?.pass(restartFrames: restartFrames)
                } catch {
                    session = nil
                }
            }
        }
    }

    deinit { flag.stopped.store(true, ordering: .relaxed) }

    /// The thread's connection.
    final class Session {
        let connection: DatabaseQueue
        /// Frames copied as of the last flush: there is nothing to flush while it stays the same.
        var flushedThrough = -1

        init(path: String) throws {
            var config = Configuration()
            // Only the restart waits (for the writer to finish its commit, for readers to leave the WAL), each
            // a fraction of a millisecond: SQLite's own busy timeout sleeps 1, 2, 5, 10 ms between tries.
            config.busyMode = .callback { tries in
                usleep(100)
                return tries < 500
            }
            connection = try DatabaseQueue(path: path, configuration: config)
        }

        func pass(restartFrames: Int) throws {
            let wal = try copy()
            guard wal.frames >= restartFrames, wal.frames == wal.copied else { return }
            // The frames committed while the file was being flushed: copied and flushed too, still holding
            // nothing, so that the restart, which holds the writer, has only the last few left.
            _ = try copy()
            do {
                _ = try connection.inDatabase { try $0.checkpoint(.restart) }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // Writes or reads went on throughout: the WAL stays as it is until the next turn.
            }
        }

        /// A passive checkpoint, then a flush of what it copied. SQLite flushes the database file only after
        /// a checkpoint that copied the whole WAL, which under steady writes is rarely, and then all at once.
        private func copy() throws -> (frames: Int, copied: Int) {
            try connection.inDatabase { db in
                let wal = try db.checkpoint(.passive)
                if wal.checkpointedFrameCount != flushedThrough {
                    try Self.flush(db)
                    flushedThrough = wal.checkpointedFrameCount
                }
                return (wal.walFrameCount, wal.checkpointedFrameCount)
            }
        }

        /// fdatasync of the database file, through SQLite's own handle of it (its VFS's `xSync`). Never through a
        /// descriptor of our own: closing any descriptor of the file drops every POSIX lock this process holds
        /// on it, and another process (`edmo analytics rebuild`, a backup) would then take itself for the last
        /// connection and delete the WAL under ours.
        static func flush(_ db: GRDB.Database) throws {
            var pointer: UnsafeMutableRawPointer?
            guard sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_FILE_POINTER, &pointer) == SQLITE_OK,
                  let file = pointer?.assumingMemoryBound(to: sqlite3_file.self), let sync = file.pointee.pMethods?.pointee.xSync
            else { return }
            let code = sync(file, SQLITE_SYNC_NORMAL)
            guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
        }
    }
}
