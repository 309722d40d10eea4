import EdmoCore
import EdmoStore
import Foundation
import Synchronization

/// Runs a check on a thread of its own and waits for it at most a deadline: a store that hangs (a
/// PostgreSQL server gone silent, every pooled connection busy, a locked file) fails the check in time
/// instead of holding the worker. One check runs at a time: callers that come while it runs wait for the
/// same answer, so a hung store holds one extra thread however often nginx or a load balancer asks.
public final class SingleFlight<Value: Sendable>: Sendable {
    private final class Flight: Sendable {
        let group = DispatchGroup()
        let result = Mutex<Result<Value, any Error>?>(nil)
    }

    private let current = Mutex<Flight?>(nil)

    public init() {}

    public func run(timeout: Duration, _ body: @escaping @Sendable () throws -> Value) -> Result<Value, any Error> {
        let (flight, lead) = current.withLock { current -> (Flight, Bool) in
            if let flight = current { return (flight, false) }
            let flight = Flight()
            flight.group.enter()
            current = flight
            return (flight, true)
        }
        if lead {
            Thread.detachNewThread { [self] in
                let result = Result { try body() }
                flight.result.withLock { $0 = result }
                current.withLock { $0 = nil }
                flight.group.leave()
            }
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard flight.group.wait(timeout: .now() + seconds) == .success, let result = flight.result.withLock({ $0 }) else {
            return .failure(StoreUnavailable("no answer within \(timeout)"))
        }
        return result
    }
}

/// The store checks of one process: `/api/health`'s trivial read and the metrics' queue depths, each
/// with a deadline (`timeout`) and one at a time (`SingleFlight`).
public final class StoreChecks: Sendable {
    /// How long `/api/health` and a scrape wait for the store.
    public static let timeout: Duration = .seconds(2)
    let ping = SingleFlight<String>()
    let backlog = SingleFlight<StoreBacklog>()
    /// Says a failing check in the log at most once a minute (nginx or a balancer asks every few seconds).
    let alarm = StorageAlarm()

    public init() {}
}

extension AppContext {
    /// `GET /api/health`: the store's engine (`sqlite`, `postgres`) when it answers a trivial read within
    /// `StoreChecks.timeout`; else why not (logged once a minute, never shown to clients).
    public func checkStore(timeout: Duration = StoreChecks.timeout) -> Result<String, StoreUnavailable> {
        guard let health else { return .failure(StoreUnavailable("no store health check is configured")) }
        let result = storeChecks.ping.run(timeout: timeout) {
            try health.ping()
            return health.engine
        }
        switch result {
        case .success(let engine):
            return .success(engine)
        case .failure(let error):
            let failure = error as? StoreUnavailable ?? StoreUnavailable(String(describing: error))
            if storeChecks.alarm.shouldReport() { log.error("health: the \(health.engine) store does not answer: \(failure)") }
            return .failure(failure)
        }
    }

    /// The metrics text (`/metrics`): the registry's series, then what is read now: the store's queue depths
    /// (left out, with `edmo_store_up 0`, when it does not answer in time) and the per-host capacity gates.
    public func metricsText(timeout: Duration = StoreChecks.timeout) -> String {
        var gauges: [Gauge] = []
        let engine = health?.engine ?? "none"
        let cutoff = now.addingTimeInterval(-TimeInterval(config.chatIdleSeconds))
        let backlog: StoreBacklog?
        if let health {
            backlog = try? storeChecks.backlog.run(timeout: timeout) { try health.backlog(now: now, idleBefore: cutoff) }.get()
        } else {
            backlog = nil
        }
        gauges.append(Gauge("edmo_store_up", "1 when the store answered this scrape's queries in time, else 0.",
                            [([("store", engine)], backlog == nil ? 0 : 1)]))
        if let backlog {
            gauges += [
                Gauge("edmo_provider_operations_pending",
                      "Provider writes begun and not settled (provider_operations): in flight, or left by a crash for recovery.",
                      value: backlog.providerOperations),
                Gauge("edmo_conversations_open", "Conversations in progress.", value: backlog.openConversations),
                Gauge("edmo_conversations_idle",
                      "Conversations in progress and idle for EDMO_CHAT_IDLE_SECONDS: the idle-chat sweep's next work.",
                      value: backlog.idleConversations),
                Gauge("edmo_webhook_deliveries_pending",
                      "Outbound event deliveries not yet delivered, failed or cancelled (retries included).",
                      value: backlog.pendingDeliveries),
                Gauge("edmo_webhook_deliveries_due",
                      "Pending outbound event deliveries a delivery thread could claim now: the delivery threads' backlog.",
                      value: backlog.dueDeliveries),
            ]
        }
        let gates = [("password_hashing", passwords.gate), ("outbound_calls", outbound), ("chat_streams", chatStreams)]
        gauges += [
            Gauge("edmo_capacity_slots", "Slots of a per-host capacity gate.", gates.map { ([("gate", $0.0)], $0.1.limit) }),
            Gauge("edmo_capacity_busy", "Slots of a per-host capacity gate taken now.", gates.map { ([("gate", $0.0)], $0.1.inUse) }),
            Gauge("edmo_capacity_queued", "Callers waiting for a slot of a per-host capacity gate (logins, for password_hashing).",
                  gates.map { ([("gate", $0.0)], $0.1.queued) }),
        ]
        return metrics.render(gauges: gauges)
    }
}
