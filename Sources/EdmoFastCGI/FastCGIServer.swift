import CFastCGI
import EdmoAPI
import EdmoCore
import EdmoService
import Foundation
import Synchronization

/// N worker threads serving the requests of every connection nginx holds, kept alive or not
/// (`ConnectionLoop`: the idle workers wait on every connection together; a worker takes one only when a
/// request is there).
///
/// Shutdown: SIGTERM/SIGINT are blocked in every thread and taken by `sigwait` in `run()`. The loop then
/// stops accepting; workers finish the requests in flight or already waiting, then exit, and the idle
/// connections are closed. The listening socket itself is left alone: under systemd it is shared
/// with the socket unit and must stay usable for the next start.
public final class FastCGIServer: Sendable {
    let listenFd: Int32
    let workers: Int
    let maxBodyBytes: Int
    let handler: @Sendable (Request) -> Response
    let log: Logger
    /// Hears the number of workers, and each one going into and out of a request.
    let metrics: Metrics?
    let running = Atomic<Int>(0)

    public init(
        listenFd: Int32, workers: Int, maxBodyBytes: Int, log: Logger, metrics: Metrics? = nil,
        handler: @escaping @Sendable (Request) -> Response
    ) {
        self.listenFd = listenFd
        self.workers = workers
        self.maxBodyBytes = maxBodyBytes
        self.log = log
        self.metrics = metrics
        self.handler = handler
    }

    /// Serves until SIGTERM or SIGINT; returns once in-flight requests are done (or after `drainSeconds`).
    public func run(drainSeconds: Double = 10) throws {
        FCGX_Init()
        signal(SIGPIPE, SIG_IGN)
        var stopSignals = Self.blockStopSignals()
        Self.raiseDescriptorLimit()
        let loop = try ConnectionLoop(listenFd: listenFd, log: log, metrics: metrics)

        // `workers` serve at once; the other threads stand in for those waiting on a commit (`WorkerTurns`).
        let turns = WorkerTurns(workers)
        var threads: [pthread_t] = []
        for _ in 0..<(workers * Self.threadsPerWorker) {
            running.add(1, ordering: .sequentiallyConsistent)
            threads.append(Self.startThread { [self] in
                let turn = WorkerTurn(turns)
                WorkerTurn.$current.withValue(turn) { self.workerLoop(loop, turn) }
                self.running.subtract(1, ordering: .sequentiallyConsistent)
            })
        }
        metrics?.setWorkers(workers)
        log.info("serving FastCGI with \(workers) workers (\(workers * Self.threadsPerWorker) threads)")

        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        log.info("signal \(received): finishing in-flight requests")
        loop.stop()

        let deadline = Date().addingTimeInterval(drainSeconds)
        while running.load(ordering: .sequentiallyConsistent) > 0 && Date() < deadline {
            usleep(20_000)
        }
        if running.load(ordering: .sequentiallyConsistent) > 0 {
            log.error("\(running.load(ordering: .sequentiallyConsistent)) workers still busy after \(drainSeconds)s; exiting anyway")
            return
        }
        for thread in threads { pthread_join(thread, nil) }
        loop.closeIdle()
        log.info("stopped")
    }

    /// Every connection nginx keeps is an open descriptor here: take the hard limit, not the soft 1024.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = min(limit.rlim_max, 1 << 20)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Blocks SIGTERM and SIGINT in the calling thread (and every thread it starts afterwards), so that only
    /// `run()`'s `sigwait` takes them. Call it before starting any other thread.
    @discardableResult
    public static func blockStopSignals() -> sigset_t {
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        return stopSignals
    }

    /// Threads per worker turn: a write waits on its commit about as long as the CPU spends on it (writes of
    /// several clients then fill one commit); at 4, 8 workers take 32 requests in at once.
    static let threadsPerWorker = 4

    func workerLoop(_ loop: ConnectionLoop, _ turn: WorkerTurn) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        // The turn is kept from one request to the next (handing it round at every request would wake a
        // sleeping thread each time); only a request that steps aside gives it up, and takes one again here.
        defer { turn.give() }
        while true {
            turn.takeIfGiven()
            guard let fd = loop.next() else { return }
            // libfcgi reads the request from this connection. It must not accept one itself: with no listening
            // socket (-1) it gives up instead when the connection turns out closed, and closes it.
            FCGX_InitRequest(request, -1, 0)
            request.pointee.ipcFd = fd
            request.pointee.keepConnection = 1
            guard FCGX_Accept_r(request) == 0 else {
                if request.pointee.ipcFd >= 0 { close(request.pointee.ipcFd) }
                loop.closed()
                continue
            }
            metrics?.workerBusy()
            serve(request)
            FCGX_Finish_r(request)
            metrics?.workerIdle()
            // Still open: nginx asked to keep it (FCGI_KEEP_CONN) and nothing failed.
            if request.pointee.ipcFd >= 0 { loop.giveBack(fd) } else { loop.closed() }
        }
    }

    func serve(_ request: UnsafeMutablePointer<FCGX_Request>) {
        let params = Self.params(request.pointee.envp)
        let declared = params.contentLength.flatMap { Int($0) } ?? 0
        // Past the limit the body is not read at all; the router answers 413 from CONTENT_LENGTH. Its unread
        // records would then be taken for the next request on a kept connection, so this one is closed.
        let body = declared > maxBodyBytes ? [] : Self.readBody(request.pointee.in, count: declared)
        if declared > maxBodyBytes || !Self.readToEnd(request.pointee.in) { request.pointee.keepConnection = 0 }
        let response = handler(Request.fromCGI(params, body: body))
        response.send(to: FastCGIWriter(stream: request.pointee.out)) { [log] error in
            log.error("a streamed response stopped early: \(error)")
        }
    }

    /// The parameters a request is built from, straight from libfcgi's `NAME=value` array: the others are
    /// skipped without building a String (see `CGIParams`).
    static func params(_ envp: FCGX_ParamArray?) -> CGIParams {
        var out = CGIParams()
        guard var cursor = envp else { return out }
        while let entry = cursor.pointee {
            out.set(entry: entry)
            cursor += 1
        }
        return out
    }

    /// Reads the request's input to its end record. nginx sends that (empty) record after the body, so it
    /// may not have arrived when the body has been read; left unread on a kept connection, it would start
    /// the next request, and libfcgi (2.4.2) mishandles a request that starts with another's record: it
    /// skips the next record's content too, fails the next request's begin record and closes the
    /// connection under it (nginx: "upstream prematurely closed connection while reading response header").
    /// Measured before this: about 1 in 25 requests right after a burst of aborted ones. False when more
    /// than a little is left (then the connection is not kept).
    static func readToEnd(_ stream: UnsafeMutablePointer<FCGX_Stream>?) -> Bool {
        guard let stream else { return true }
        for _ in 0..<4096 {
            if FCGX_GetChar(stream) == -1 { return true }
        }
        return false
    }

    static func readBody(_ stream: UnsafeMutablePointer<FCGX_Stream>?, count: Int) -> [UInt8] {
        guard count > 0, let stream else { return [] }
        var body = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = body.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    FCGX_GetStr(chars.baseAddress! + filled, Int32(count - filled), stream)
                }
            }
            if n <= 0 { break }
            filled += Int(n)
        }
        return Array(body[0..<filled])
    }

    final class ThreadBody {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// A pthread (not Foundation.Thread) so it can be signalled and joined; 4 MiB of stack for deep JSON.
    static func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 4 << 20)
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let rc = pthread_create(&thread, &attributes, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        return thread
    }
}

/// A response body onto the request's FastCGI output stream.
struct FastCGIWriter: ResponseWriter {
    let stream: UnsafeMutablePointer<FCGX_Stream>?

    struct Closed: Error {}

    func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        let written = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                FCGX_PutStr(chars.baseAddress, Int32(chars.count), stream)
            }
        }
        guard written == Int32(bytes.count) else { throw Closed() }
    }

    func flush() throws {
        guard FCGX_FFlush(stream) == 0 else { throw Closed() }
    }
}
