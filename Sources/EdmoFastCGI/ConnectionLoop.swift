import CFastCGI
import EdmoService
import Foundation
import Synchronization

/// Every connection nginx opens, kept or not, watched by one thread with epoll; a connection goes to a
/// worker only once a request has arrived on it, and comes back to epoll when the answer is sent.
///
/// Why: libfcgi serves one connection per thread, and after a kept request its thread waits for the next
/// request on that same connection. With nginx's upstream keep-alive, idle kept connections then hold
/// every worker while new connections wait in the backlog (FASTCGI-NOTES 1). Here an idle connection holds
/// only a file descriptor, so no number of kept connections can park a request: a worker is busy only
/// while it serves one. libfcgi still reads and writes the records (the worker gives it the connection's
/// fd); only the accept and the wait between requests moved here.
///
/// Ownership of a connection's fd is never shared: it is in the epoll set (the `idle` set, this thread's)
/// or in the ready queue or with one worker. `stop()` closes the idle ones; the queued ones are still
/// served; a worker closes its connection instead of giving it back once stopping.
final class ConnectionLoop: @unchecked Sendable {
    let listenFd: Int32
    let epollFd: Int32
    let wakeFd: Int32
    let log: Logger
    /// `FCGI_WEB_SERVER_ADDRS`: the IPv4 peers a TCP connection may come from (libfcgi's own rule).
    let allowedPeers: Set<String>?
    let ready = ReadyQueue()
    private let state = Mutex<State>(State())
    let metrics: Metrics?

    struct State {
        var stopping = false
        var idle = Set<Int32>()
    }

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
        try watch(listenFd, events: EPOLLIN.rawValue, op: EPOLL_CTL_ADD)
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

    /// The event thread: accepts, and queues each connection a request has arrived on. Returns after `stop()`.
    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        loop: while true {
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epollFd, $0.baseAddress, Int32($0.count), -1) }
            if count < 0 {
                if errno == EINTR { continue }
                log.error("epoll_wait failed: \(String(cString: strerror(errno)))")
                break
            }
            for event in events[0..<Int(count)] {
                let fd = event.data.fd
                if fd == wakeFd { break loop }
                if fd == listenFd { acceptWaiting(); continue }
                let taken = state.withLock { $0.idle.remove(fd) != nil }
                if taken { ready.push(fd) }
            }
        }
        let idle = state.withLock { state -> Set<Int32> in
            state.stopping = true
            defer { state.idle.removeAll() }
            return state.idle
        }
        // nginx sees the close of an idle kept connection and opens a new one to whoever listens next.
        for fd in idle { close(fd) }
        metrics?.connectionClosed(idle.count)
        ready.close()
    }

    func stop() {
        var one: UInt64 = 1
        _ = write(wakeFd, &one, 8)
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
        let armed = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | EPOLLONESHOT.rawValue
            event.data.fd = fd
            guard epoll_ctl(epollFd, first ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0 else { return false }
            state.idle.insert(fd)
            return true
        }
        if !armed {
            close(fd)
            metrics?.connectionClosed()
        }
    }

    /// A worker's connection that libfcgi closed (the peer went away, or the request was not kept).
    func closed() {
        metrics?.connectionClosed()
    }
}

/// Connections with a request waiting, first come first served; `pop()` blocks, and answers nil once
/// closed and empty, so workers serve what was queued before they exit.
final class ReadyQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var fds: [Int32] = []
    private var head = 0
    private var closed = false

    func push(_ fd: Int32) {
        condition.lock()
        fds.append(fd)
        condition.unlock()
        condition.signal()
    }

    func pop() -> Int32? {
        condition.lock()
        defer { condition.unlock() }
        while head == fds.count {
            if closed { return nil }
            condition.wait()
        }
        let fd = fds[head]
        head += 1
        if head == fds.count {
            fds.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 {
            // Never empty under a long overload: drop what was served so the array does not grow.
            fds.removeFirst(head)
            head = 0
        }
        return fd
    }

    func close() {
        condition.lock()
        closed = true
        condition.unlock()
        condition.broadcast()
    }
}
