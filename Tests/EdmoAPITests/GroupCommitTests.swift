@testable import EdmoSQLite
import EdmoStore
import Foundation
import GRDB
import Synchronization
import Testing

/// Every SQLite write goes through group commit (`EdmoDatabase.write`): the writes queued while a batch
/// commits share the next transaction, each in its own savepoint. The first write of each test holds its
/// batch open until the others are queued behind it, so the batches are known, not left to timing.
@Suite struct SQLiteGroupCommitTests {
    struct Refused: Error, Equatable {}

    /// A database with one scratch table, counting its commits.
    final class Scratch: Sendable {
        final class Count: Sendable { let value = Mutex(0) }
        let database: EdmoDatabase
        let path = makeTempDirectory() + "/db.sqlite"
        let commits = Count()
        init() throws {
            let commits = self.commits
            database = try EdmoDatabase(path: path, onCommit: { _ in commits.value.withLock { $0 += 1 } })
            try database.writeAlone { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)") }
        }
        var ids: [Int] { get throws { try database.read { db in try Int.fetchAll(db, sql: "SELECT id FROM t ORDER BY id") } } }
        var committed: Int { commits.value.withLock { $0 } }
    }

    /// Runs `holder` as the only write of a batch, and `writes` once all of them are queued behind it;
    /// returns each one's outcome, in order.
    static func batch(_ scratch: Scratch, holder: @escaping @Sendable (GRDB.Database) throws -> Void,
                      _ writes: [@Sendable (GRDB.Database) throws -> Int]) throws -> [Result<Int, Error>] {
        let database = scratch.database
        return try inOneBatch(database, holder: holder, writes.map { write in { try database.write(write) } })
    }

    @Test func concurrentWritesShareOneCommitAndAFailingOneRollsBackAlone() throws {
        let scratch = try Scratch()
        let before = scratch.committed
        let insert = { @Sendable (id: Int) -> @Sendable (GRDB.Database) throws -> Int in
            { db in try db.execute(sql: "INSERT INTO t (id) VALUES (?)", arguments: [id]); return id * 10 }
        }
        let outcomes = try Self.batch(
            scratch, holder: { db in try db.execute(sql: "INSERT INTO t (id) VALUES (0)") },
            [
                insert(1), insert(2),
                { db in try db.execute(sql: "INSERT INTO t (id) VALUES (3)"); throw Refused() },  // its row goes with it
                { db in try db.execute(sql: "INSERT INTO t (id) VALUES (0)"); return -1 },  // the holder's id: SQLite refuses
                insert(5),
            ])
        #expect(try outcomes[0].get() == 10)
        #expect(try outcomes[1].get() == 20)
        #expect(throws: Refused()) { try outcomes[2].get() }
        #expect(throws: DatabaseError.self) { try outcomes[3].get() }
        #expect(try outcomes[4].get() == 50)
        #expect(try scratch.ids == [0, 1, 2, 5])
        // The holder's batch, then one batch for the five writes queued behind it.
        #expect(scratch.committed == before + 2)

        // A batch in which every write failed commits nothing, and is not counted.
        #expect(throws: Refused.self) { try scratch.database.write { _ in throw Refused() } }
        #expect(scratch.committed == before + 2)
    }

    /// A full disk fails the whole batch as `storageFull`, also the writes that fitted: none is kept, since
    /// SQLite may have rolled the whole transaction back.
    @Test func aFullDiskFailsEveryWriteOfItsBatchAsStorageFull() throws {
        let scratch = try Scratch()
        let database = scratch.database
        let pages = try database.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! }
        try database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages)") }
        let outcomes = try Self.batch(
            scratch, holder: { _ in },
            [
                { db in try db.execute(sql: "INSERT INTO t (id) VALUES (1)"); return 1 },  // fits in the table's page
                { db in try db.execute(sql: "INSERT INTO t (id, data) VALUES (2, zeroblob(200000))"); return 2 },
                { db in try db.execute(sql: "INSERT INTO t (id) VALUES (3)"); return 3 },
            ])
        for outcome in outcomes { #expect(throws: StoreError.storageFull) { try outcome.get() } }
        #expect(try scratch.ids == [])
        // Alone, a write that fits is kept: the writer's connection is usable again.
        #expect(try database.write { db in try db.execute(sql: "INSERT INTO t (id) VALUES (1)"); return 1 } == 1)
        try database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        #expect(try database.write { db in try db.execute(sql: "INSERT INTO t (id, data) VALUES (2, zeroblob(200000))"); return 2 } == 2)
        #expect(try scratch.ids == [1, 2])
    }

    /// Each caller gets its own value back, of its own type, also when it is nil.
    @Test func eachCallerGetsItsOwnValue() throws {
        let scratch = try Scratch()
        let none: Int? = try scratch.database.write { _ in nil }
        #expect(none == nil)
        #expect(try scratch.database.write { _ in "text" } == "text")
        try scratch.database.write { db in try db.execute(sql: "INSERT INTO t (id) VALUES (7)") }
        #expect(try scratch.ids == [7])
    }

    /// The WAL is copied into the database file by `WALCheckpointer`'s thread, not by a commit: 300 pages
    /// of writes, far below SQLite's own automatic checkpoint (1,000 pages; the writer's is at 10,000),
    /// reach the database file all the same.
    @Test func theWALReachesTheDatabaseFileOffTheCommitPath() throws {
        let scratch = try Scratch()
        for i in 0..<300 {
            try scratch.database.write { db in
                try db.execute(sql: "INSERT INTO t (id, data) VALUES (?, ?)", arguments: [i, Data(repeating: 7, count: 3000)])
            }
        }
        var size = 0
        for _ in 0..<200 where size < 300 * 3000 {
            usleep(50_000)
            size = (try? FileManager.default.attributesOfItem(atPath: scratch.path)[.size] as? Int) ?? 0
        }
        #expect(size >= 300 * 3000)
        #expect(try scratch.ids.count == 300)
    }
}

/// The WAL is started over by `WALCheckpointer`'s thread once it is long and all copied, not by the writer's
/// own checkpoint at 10,000 pages (which held every write while it flushed the database file), and a write
/// waits for a lock another connection holds instead of failing.
@Suite struct WALRestartTests {
    /// Frames in the WAL: what a passive checkpoint (which never starts it over) reports.
    static func walFrames(_ path: String) throws -> Int {
        try DatabaseQueue(path: path).inDatabase { try $0.checkpoint(.passive).walFrameCount }
    }

    /// The WAL's last frame as the WAL index (the -shm file) has it: what a checkpoint would report, read
    /// without checkpointing (`WalIndexHdr.mxFrame`, at byte 16, in this machine's byte order).
    static func lastFrame(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path + "-shm"), data.count >= 20 else { return 0 }
        return Int(data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self) })
    }

    /// Two clients writing without a pause for 2 s: a passive checkpoint never finds the WAL all copied
    /// before the next commit, so only the checkpointer's restart keeps it short.
    @Test func theCheckpointerStartsALongWALOverUnderSteadyWrites() throws {
        let path = makeTempDirectory() + "/db.sqlite"
        let database = try EdmoDatabase(path: path, restartWALFrames: 200)
        try database.writeAlone { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)") }
        let deadline = ContinuousClock.now + .seconds(2)
        let written = Mutex(0)
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            Thread {
                while ContinuousClock.now < deadline {
                    _ = try? database.write { db in
                        try db.execute(sql: "INSERT INTO t (data) VALUES (?)", arguments: [Data(repeating: 7, count: 3000)])
                    }
                    written.withLock { $0 += 1 }
                }
                group.leave()
            }.start()
        }
        var longest = 0
        while ContinuousClock.now < deadline {
            longest = max(longest, Self.lastFrame(path))
            usleep(2_000)
        }
        group.wait()
        let rows = written.withLock { $0 }
        #expect(rows > 1_000)
        // Without the restart it reached the writer's own checkpoint, 10,001 frames; with it, 1,300-2,200.
        #expect(longest < 5_000)
    }

    @Test func aShortWALIsLeftAsItIs() throws {
        let path = makeTempDirectory() + "/db.sqlite"
        let database = try EdmoDatabase(path: path, restartWALFrames: 1_000)
        try database.writeAlone { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)") }
        try database.write { db in
            for i in 0..<300 {
                try db.execute(sql: "INSERT INTO t (id, data) VALUES (?, ?)", arguments: [i, Data(repeating: 7, count: 3000)])
            }
        }
        usleep(500_000)
        #expect(try Self.walFrames(path) >= 300)
    }

    @Test func aWriteWaitsForAnotherConnectionsLock() throws {
        let path = makeTempDirectory() + "/db.sqlite"
        let database = try EdmoDatabase(path: path)
        try database.writeAlone { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY)") }
        let other = try DatabaseQueue(path: path)
        let locked = DispatchSemaphore(value: 0)
        let holder = Thread {
            try? other.inDatabase { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                locked.signal()
                usleep(300_000)
                try db.execute(sql: "COMMIT")
            }
        }
        holder.start()
        locked.wait()
        let started = ContinuousClock.now
        try database.write { db in try db.execute(sql: "INSERT INTO t (id) VALUES (1)") }
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") } == 1)
    }
}

/// Another process on the same file (`edmo analytics rebuild`, the benchmark's seeding, an operator's sqlite3):
/// its checkpoints make the checkpointer's fail now and then, and its last close deletes the WAL unless this
/// process still holds its locks on the file. A first checkpointer flushed the file through a descriptor of
/// its own, closed after such a failure, which dropped every lock of this process on the file: the benchmark's
/// database was then "malformed".
@Suite struct WALOtherProcessTests {
    @Test func anotherProcessCheckpointingAndClosingLeavesTheDatabaseWhole() throws {
        let path = makeTempDirectory() + "/db.sqlite"
        let database = try EdmoDatabase(path: path, restartWALFrames: 50)
        try database.writeAlone { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB); CREATE TABLE other (id INTEGER PRIMARY KEY)")
        }
        // Five connections one after the other, each checkpointing without a pause for 0.4 s, then closed.
        let other = Process()
        other.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        other.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            for i in range(5):
                con = sqlite3.connect(sys.argv[1], timeout=10)
                con.execute('INSERT INTO other DEFAULT VALUES'); con.commit()
                end = time.time() + 0.4
                while time.time() < end: con.execute('PRAGMA wal_checkpoint(PASSIVE)').fetchall()
                con.close()
            """, path]
        try other.run()
        var written = 0
        while other.isRunning {
            try database.write { db in
                try db.execute(sql: "INSERT INTO t (data) VALUES (?)", arguments: [Data(repeating: 7, count: 3000)])
            }
            written += 1
            usleep(2_000)
        }
        #expect(other.terminationStatus == 0)
        #expect(written > 100)
        // Read by a connection opened now, which sees the files as they are on disk.
        let (check, rows, others) = try DatabaseQueue(path: path).read { db in
            (try String.fetchOne(db, sql: "PRAGMA integrity_check"), try Int.fetchOne(db, sql: "SELECT count(*) FROM t"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM other"))
        }
        #expect(check == "ok")
        #expect(rows == written)
        #expect(others == 5)
    }
}

/// Runs `writes` (each a caller of `database.write`, on a thread of its own) in one batch: queued behind
/// `holder`, a write that holds the writer until all of them wait. Returns each one's outcome, in order.
func inOneBatch<T: Sendable>(
    _ database: EdmoDatabase, holder: @escaping @Sendable (GRDB.Database) throws -> Void = { _ in },
    _ writes: [@Sendable () throws -> T]
) throws -> [Result<T, Error>] {
    let (started, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
    let outcomes = Mutex([Int: Result<T, Error>]())
    let group = DispatchGroup()
    group.enter()
    Thread {
        _ = try? database.write { db in
            started.signal()
            release.wait()
            try holder(db)
        }
        group.leave()
    }.start()
    started.wait()
    for (index, write) in writes.enumerated() {
        group.enter()
        Thread {
            let outcome = Result { try write() }
            outcomes.withLock { $0[index] = outcome }
            group.leave()
        }.start()
    }
    while database.writes.waiting < writes.count { usleep(1_000) }
    release.signal()
    guard group.wait(timeout: .now() + 60) == .success else { throw SQLiteGroupCommitTests.Refused() }
    return outcomes.withLock { all in writes.indices.map { all[$0]! } }
}
