import CFastCGI
import EdmoCore
import EdmoService
import Foundation
import Synchronization

/// Every connection nginx opens, kept or not, in one epoll set that the idle workers wait on together; a
/// connection goes to a worker only once a request has arrived on it, and comes back to the set when the
/// answer is sent.
///
/// Why: libfcgi serves one connection per thread, and after a kept request its thread waits for the next
/// request on that same connection. With nginx's upstream keep-alive, idle kept connections then hold
/// every worker while new connections wait in the backlog (FASTCGI-NOTES 1). Here an idle connection holds
/// only a file descriptor, so no number of kept connections can park a request: a worker is busy only
/// while it serves one. libfcgi still reads and writes the records (the worker gives it the connection's
/// fd); only the accept and the wait between requests moved here.
///
/// The workers themselves call `epoll_wait` (`next()`), one event each: the kernel wakes one waiter per
/// event, and every connection (and the listening socket) is armed one-shot, so exactly one worker gets it.
/// No thread hands requests over: an earlier design had one epoll thread fill a queue the workers took
/// from, two wake-ups and a lock per request, and its thread competed with the workers for the 2 cores.
///
/// Ownership of a connection's fd is never shared: it is armed in the epoll set (and in `idle`), or with one
/// worker. `stop()` makes every worker's next `next()` serve what is already waiting and then answer nil;
/// `closeIdle()` then closes the connections left idle, and a worker closes its connection instead of giving
/// it back once stopping.
final class ConnectionLoop: @unchecked Sendable {
    let listenFd: Int32
    let epollFd: Int32
    /// Readable (level-triggered, never consumed) once stopping: every waiting worker sees it.
    let wakeFd: Int32
    let log: Logger
    /// `FCGI_WEB_SERVER_ADDRS`: the IPv4 peers a TCP connection may come from (libfcgi's own rule).
    let allowedPeers: Set<String>?
    /// The connections armed in the epoll set, in stripes by fd: every request takes one out and puts it
    /// back, so the workers rarely meet on one lock.
    private let idle = (0..<64).map { _ in IdleStripe() }
    private let stopping = Atomic<Bool>(false)
    let metrics: Metrics?

    final class IdleStripe: Sendable {
        let fds = PlainLock<Set<Int32>>([])
    }

    private func stripe(_ fd: Int32) -> IdleStripe { idle[Int(fd) % idle.count] }

    init(listenFd: Int32, log: Logger, metrics: Metrics?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.listenFd = listenFd
        self.log = log
        self.metrics = metrics
        allowedPeers = environment["FCGI_WEB_SERVER_ADDRS"].map {
            Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        epollFd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFd = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epollFd >= 0, wakeFd >= 0 else { throw ListenerError(description: "epoll: \(String(cString: strerror(errno)))") }
        // The listening socket is only ever accepted from here, after epoll says a connection is waiting.
        _ = fcntl(listenFd, F_SETFL, fcntl(listenFd, F_GETFL) | O_NONBLOCK)
        try watch(listenFd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, op: EPOLL_CTL_ADD)
        try watch(wakeFd, events: EPOLLIN.rawValue, op: EPOLL_CTL_ADD)
    }

    deinit {
        close(epollFd)
        close(wakeFd)
    }

    private func watch(_ fd: Int32, events: UInt32, op: Int32) throws {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        guard epoll_ctl(epollFd, op, fd, &event) == 0 else {
            throw ListenerError(description: "epoll_ctl: \(String(cString: strerror(errno)))")
        }
    }

    /// A connection with a request waiting, for the calling worker to serve and then `giveBack`; nil once
    /// stopping and nothing else is waiting. Accepts new connections on the way when the listening socket
    /// is the event this worker got.
    func next() -> Int32? {
        var event = epoll_event()
        var stopSeen = false
        while true {
            // Once stopping, only what is already waiting: the stop event comes round again (it is
            // level-triggered, queued behind whatever else was ready) when nothing else is.
            let count = epoll_wait(epollFd, &event, 1, stopSeen ? 0 : -1)
            if count < 0 {
                if errno == EINTR { continue }
                log.error("epoll_wait failed: \(String(cString: strerror(errno)))")
                return nil
            }
            if count == 0 { return nil }
            let fd = event.data.fd
            if fd == wakeFd {
                if stopSeen { return nil }
                stopSeen = true
            } else if fd == listenFd {
                guard !stopSeen else { continue }  // left disarmed: no more connections are taken
                acceptWaiting()
                try? watch(listenFd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, op: EPOLL_CTL_MOD)
            } else if stripe(fd).fds.withLock({ $0.remove(fd) != nil }) {
                return fd
            }
        }
    }

    /// Every worker's next `next()` serves what is already waiting, then answers nil.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        var one: UInt64 = 1
        _ = write(wakeFd, &one, 8)
    }

    /// After the workers have stopped: nginx sees the close of an idle kept connection and opens a new one
    /// to whoever listens next.
    func closeIdle() {
        var count = 0
        for stripe in idle {
            let fds = stripe.fds.withLock { fds in defer { fds.removeAll() }; return fds }
            for fd in fds { close(fd) }
            count += fds.count
        }
        metrics?.connectionClosed(count)
    }

    private func acceptWaiting() {
        while true {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listenFd, $0, &length) }
            }
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED, EPROTO: continue
                case EAGAIN, EWOULDBLOCK: return
                case EMFILE, ENFILE:
                    // The backlog keeps the connection; try again once a request has released a descriptor.
                    log.error("accept: out of file descriptors; raise LimitNOFILE (or lower nginx's upstream keepalive)")
                    usleep(10_000)
                    return
                default:
                    log.error("accept failed: \(String(cString: strerror(errno)))")
                    return
                }
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if Int32(address.ss_family) == AF_INET, !admitTCP(fd, address) {
                close(fd)
                continue
            }
            metrics?.connectionOpened()
            giveBack(fd, first: true)
        }
    }

    /// libfcgi's rules for a TCP peer: no Nagle delay, and only the addresses in `FCGI_WEB_SERVER_ADDRS`.
    private func admitTCP(_ fd: Int32, _ address: sockaddr_storage) -> Bool {
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        guard let allowedPeers else { return true }
        var copy = address
        let peer = withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { String(cString: inet_ntoa($0.pointee.sin_addr)) }
        }
        if allowedPeers.contains(peer) { return true }
        log.error("refused a FastCGI connection from \(peer): not in FCGI_WEB_SERVER_ADDRS")
        return false
    }

    /// A connection back into the epoll set, to wait for its next request; closed instead once stopping.
    func giveBack(_ fd: Int32, first: Bool = false) {
        // Filed before it is armed: its next request may reach a worker the moment it is.
        let filed = !stopping.load(ordering: .sequentiallyConsistent) && stripe(fd).fds.withLock { $0.insert(fd).inserted }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLONESHOT.rawValue
        event.data.fd = fd
        if filed, epoll_ctl(epollFd, first ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0 { return }
        if filed { stripe(fd).fds.withLock { _ = $0.remove(fd) } }
        close(fd)
        metrics?.connectionClosed()
    }

    /// A worker's connection that libfcgi closed (the peer went away, or the request was not kept).
    func closed() {
        metrics?.connectionClosed()
    }
}
