import Foundation
import Synchronization

/// One row of the route table as the metrics name it: its method and its pattern (`/api/assistants/{id}`),
/// never a request's own path, so every label set is fixed by the table. Made once per route (the table is
/// static); each label has a number of its own in the process, where the registry keeps its series, so
/// recording a request hashes nothing.
public final class RouteLabel: Sendable {
    public let method: String
    public let route: String
    let index: Int

    private static let count = Atomic<Int>(0)

    public init(method: String, route: String) {
        self.method = method
        self.route = route
        index = Self.count.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// The methods a label may name; any other is counted as `OTHER` (a client chooses the method).
    public static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"]
    private static let unmatchedLabels = Dictionary(
        uniqueKeysWithValues: methods.map { ($0, RouteLabel(method: $0, route: "unmatched")) })

    /// A request no route took (the router's 404 and 405): route `unmatched`.
    public static func unmatched(method: String) -> RouteLabel {
        unmatchedLabels[method] ?? unmatchedLabels["OTHER"]!
    }
}

/// Fixed histogram buckets: upper bounds in nanoseconds, and as Prometheus prints them (`le`).
public struct Buckets: Sendable {
    public let bounds: [UInt64]
    public let labels: [String]

    public init(seconds: [String]) {
        labels = seconds
        bounds = seconds.map { UInt64((Double($0)! * 1e9).rounded()) }
    }

    /// The index of the first bucket holding `nanoseconds`; `bounds.count` is +Inf.
    @inline(__always)
    func index(of nanoseconds: UInt64) -> Int {
        var i = 0
        while i < bounds.count && nanoseconds > bounds[i] { i += 1 }
        return i
    }

    /// Requests: 1 ms to 10 s.
    public static let requests = Buckets(
        seconds: ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "10"])
    /// Write transactions: 0.25 ms (PostgreSQL on a fast disk) to 1 s.
    public static let commits = Buckets(
        seconds: ["0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "1"])
}

/// A histogram's state: a count per bucket (not cumulative; the last is above every bound), the sum in
/// nanoseconds (exact), and the count.
struct Histogram: Sendable {
    var buckets: [UInt64]
    var sum: UInt64 = 0
    var count: UInt64 = 0

    init(_ layout: Buckets) { buckets = Array(repeating: 0, count: layout.bounds.count + 1) }

    @inline(__always)
    mutating func observe(bucket: Int, nanoseconds: UInt64) {
        buckets[bucket] &+= 1
        sum &+= nanoseconds
        count &+= 1
    }

    mutating func add(_ other: Histogram) {
        for i in buckets.indices { buckets[i] &+= other.buckets[i] }
        sum &+= other.sum
        count &+= other.count
    }
}

/// One route's requests: a count per status, and the duration histogram.
struct RequestSeries: Sendable {
    let label: RouteLabel
    var statuses: [(status: Int, count: UInt64)] = []
    var duration = Histogram(.requests)

    init(_ label: RouteLabel) { self.label = label }

    @inline(__always)
    mutating func observe(status: Int, bucket: Int, nanoseconds: UInt64) {
        if let i = statuses.firstIndex(where: { $0.status == status }) {
            statuses[i].count &+= 1
        } else {
            statuses.append((status, 1))
        }
        duration.observe(bucket: bucket, nanoseconds: nanoseconds)
    }

    mutating func add(_ other: RequestSeries) {
        for (status, count) in other.statuses {
            if let i = statuses.firstIndex(where: { $0.status == status }) {
                statuses[i].count &+= count
            } else {
                statuses.append((status, count))
            }
        }
        duration.add(other.duration)
    }
}

/// A small number per thread, given in order on a thread's first use: spreads threads evenly over the
/// registry's shards (worker threads live as long as the process). One pthread key for the process.
enum ThreadNumber {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()
    private static let next = Atomic<Int>(0)

    static var current: Int {
        if let value = pthread_getspecific(key) { return Int(bitPattern: value) }
        let number = next.wrappingAdd(1, ordering: .relaxed).newValue
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: number))
        return number
    }
}

/// A gauge read when the metrics are scraped (workers, queue depths): name, help, one value per label set.
public struct Gauge: Sendable {
    public var name: String
    public var help: String
    public var samples: [(labels: [(String, String)], value: Int)]

    public init(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Int)]) {
        self.name = name
        self.help = help
        self.samples = samples
    }

    public init(_ name: String, _ help: String, value: Int) { self.init(name, help, [([], value)]) }
}

/// The process's metrics, in Prometheus' text format (version 0.0.4) at `/metrics`. Thread-safe: the
/// router records every request (its thread's shard's lock, uncontended, and a dictionary lookup by the
/// route label's identity; README "Operating a fleet" has its measured cost), FastCGI workers count
/// themselves in and out of requests, the stores report each commit. Counters only grow for the life of
/// the process.
public final class Metrics: Sendable {
    /// The request series and commit times, split into shards by thread (`ThreadNumber`), so that worker
    /// threads do not wait for each other's lock: Swift's Mutex on Linux is a priority-inheritance futex,
    /// whose contended path is a system call (measured, 8 threads on 2 cores: one lock 80 ns to 20 µs per
    /// request, convoys; 16 shards 30 ns).
    private final class Shard: Sendable {
        /// By `RouteLabel.index`.
        let series = Mutex<[RequestSeries?]>([])
        let commits = Mutex(Histogram(.commits))
        /// Keeps two shards' locks off one cache line (the shards are allocated one after the other).
        let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                      UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
            = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    }

    private static let shardCount = 16
    private let shards = (0..<Metrics.shardCount).map { _ in Shard() }
    private let workersBusy = Atomic<Int>(0)
    private let workers = Atomic<Int>(0)
    private let connections = Atomic<Int>(0)

    public init() {}

    /// One request answered: its route (or `RouteLabel.unmatched`), status, and time in the router.
    public func observeRequest(_ label: RouteLabel, status: Int, nanoseconds: UInt64) {
        let bucket = Buckets.requests.index(of: nanoseconds)
        let index = label.index
        shards[ThreadNumber.current % Self.shardCount].series.withLock { series in
            if index >= series.count { series += Array(repeating: nil, count: index + 1 - series.count) }
            if series[index] == nil { series[index] = RequestSeries(label) }
            series[index]!.observe(status: status, bucket: bucket, nanoseconds: nanoseconds)
        }
    }

    /// Every shard's series, summed per route.
    private func allSeries() -> [RequestSeries] {
        var merged: [RequestSeries?] = []
        for shard in shards {
            let parts = shard.series.withLock { $0 }
            if parts.count > merged.count { merged += Array(repeating: nil, count: parts.count - merged.count) }
            for case let part? in parts {
                if merged[part.label.index] == nil {
                    merged[part.label.index] = part
                } else {
                    merged[part.label.index]!.add(part)
                }
            }
        }
        return merged.compactMap { $0 }
    }

    /// One committed write transaction (the stores' `onCommit` hook).
    @Sendable public func observeCommit(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds / 1_000_000_000))
        let bucket = Buckets.commits.index(of: nanoseconds)
        shards[ThreadNumber.current % Self.shardCount].commits.withLock {
            $0.observe(bucket: bucket, nanoseconds: nanoseconds)
        }
    }

    /// The FastCGI server's worker threads (set once they are started).
    public func setWorkers(_ count: Int) { workers.store(count, ordering: .relaxed) }
    /// A worker took a request / answered it.
    public func workerBusy() { workersBusy.add(1, ordering: .relaxed) }
    public func workerIdle() { workersBusy.subtract(1, ordering: .relaxed) }
    /// A FastCGI connection opened (accepted) / closed; kept ones stay open between requests.
    public func connectionOpened() { connections.add(1, ordering: .relaxed) }
    public func connectionClosed(_ count: Int = 1) { connections.subtract(count, ordering: .relaxed) }

    /// Requests so far by route and status (for tests and the text below).
    public func requestCount(method: String, route: String, status: Int) -> UInt64 {
        allSeries().first { $0.label.method == method && $0.label.route == route }?
            .statuses.first { $0.status == status }?.count ?? 0
    }

    /// The text exposition: request counters and durations, commit durations, workers, then `gauges`.
    /// Series in a stable order (route, then method, then status).
    public func render(gauges: [Gauge] = []) -> String {
        let series = allSeries()
            .sorted { ($0.label.route, $0.label.method) < ($1.label.route, $1.label.method) }
        var commits = Histogram(.commits)
        for shard in shards { commits.add(shard.commits.withLock { $0 }) }
        var out = ""
        out.reserveCapacity(4096 + series.count * 1600)

        family(&out, "edmo_requests_total", "counter",
               "Requests answered, by method, route pattern (unmatched: no route took it) and status.")
        for s in series {
            let labels = [("method", s.label.method), ("route", s.label.route)]
            for (status, count) in s.statuses.sorted(by: { $0.status < $1.status }) {
                sample(&out, "edmo_requests_total", labels + [("status", String(status))], String(count))
            }
        }
        family(&out, "edmo_request_duration_seconds", "histogram",
               "Time from the router taking a request to its response being ready, by method and route pattern.")
        for s in series {
            let labels = [("method", s.label.method), ("route", s.label.route)]
            histogram(&out, "edmo_request_duration_seconds", labels, s.duration, .requests)
        }
        family(&out, "edmo_store_commit_duration_seconds", "histogram", """
            Committed write transactions, from asking for the writer (SQLite) or a connection (PostgreSQL) \
            to the durable commit.
            """)
        histogram(&out, "edmo_store_commit_duration_seconds", [], commits, .commits)

        var all = [
            Gauge("edmo_workers", "FastCGI requests served at once (EDMO_WORKERS; 4 threads each).", value: workers.load(ordering: .relaxed)),
            Gauge("edmo_workers_busy", "Threads inside a request (this scrape's included; more than edmo_workers while some wait on commits).",
                  value: workersBusy.load(ordering: .relaxed)),
            Gauge("edmo_fastcgi_connections", "Open FastCGI connections from nginx, idle kept ones included.",
                  value: connections.load(ordering: .relaxed)),
        ]
        all += gauges
        for gauge in all {
            family(&out, gauge.name, "gauge", gauge.help)
            for (labels, value) in gauge.samples { sample(&out, gauge.name, labels, String(value)) }
        }
        return out
    }

    /// The content type of `render`'s text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private func family(_ out: inout String, _ name: String, _ type: String, _ help: String) {
        out += "# HELP \(name) \(help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))\n"
        out += "# TYPE \(name) \(type)\n"
    }

    private func sample(_ out: inout String, _ name: String, _ labels: [(String, String)], _ value: String) {
        out += name
        if !labels.isEmpty {
            out += "{"
            out += labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",")
            out += "}"
        }
        out += " \(value)\n"
    }

    private func histogram(_ out: inout String, _ name: String, _ labels: [(String, String)], _ h: Histogram, _ layout: Buckets) {
        var cumulative: UInt64 = 0
        for (i, le) in (layout.labels + ["+Inf"]).enumerated() {
            cumulative += h.buckets[i]
            sample(&out, name + "_bucket", labels + [("le", le)], String(cumulative))
        }
        sample(&out, name + "_sum", labels, Self.seconds(h.sum))
        sample(&out, name + "_count", labels, String(h.count))
    }

    /// Nanoseconds as seconds, exactly (no binary fraction): `1500000` -> `0.0015`.
    static func seconds(_ nanoseconds: UInt64) -> String {
        let whole = nanoseconds / 1_000_000_000, fraction = nanoseconds % 1_000_000_000
        guard fraction > 0 else { return String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.last == "0" { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// A label value: backslash, double quote and newline escaped, as the format requires.
    static func escapeLabel(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return value
        }
        return value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
