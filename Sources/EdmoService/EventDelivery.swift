import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation

/// The delivery worker of outbound events: threads of `edmo serve` of their own (never request workers),
/// each claiming due deliveries in the database (one host gets each, under a lease), posting them with
/// short timeouts, and recording the outcome. At-least-once: a host that dies mid-post leaves its lease to
/// expire, and the delivery is claimed again. See README "Outbound events".
public struct EventDelivery: Sendable {
    let context: AppContext
    /// Names this process in the lease.
    let owner: String
    /// 0...1, drawn for each retry's jitter (tests pin it).
    public var random: @Sendable () -> Double = { Double.random(in: 0...1) }
    /// The threads this worker is one of, when `edmo serve` runs it: their stop gives back its claims.
    public var workers: DeliveryWorkers?

    public init(context: AppContext, owner: String? = nil) {
        self.context = context
        self.owner = owner ?? "\(context.owner)/\(Tokens.randomHex(bytes: 4))"
    }

    var config: Config { context.config }

    /// How long a claim holds: both timeouts and a margin, so a live host finishes before it ends.
    var leaseSeconds: TimeInterval { 2 * Double(config.eventTimeoutMilliseconds) / 1000 + 5 }

    /// Claims and posts one batch; returns how many it claimed.
    @discardableResult
    public func runOnce(limit: Int = 10) -> Int {
        let now = context.now
        let claimed: [ClaimedDelivery]
        do {
            claimed = try context.webhooks.claimDeliveries(
                now: now, leaseUntil: now.addingTimeInterval(leaseSeconds), owner: owner, limit: limit)
        } catch {
            context.log.error("outbound events: claiming deliveries failed: \(error)")
            return 0
        }
        let seqs = claimed.map(\.delivery.seq)
        if let workers, !workers.hold(seqs, owner: owner) {
            Self.giveBack(context, seqs, owner: owner)  // stopping since the claim
            return 0
        }
        let leaseUntil = now.addingTimeInterval(leaseSeconds)
        for (index, delivery) in claimed.enumerated() {
            // The batch's posts share one lease: once it could run out during a post (slow endpoints), the rest
            // is given back, not posted under a lease another thread or host may take meanwhile.
            if context.now.addingTimeInterval(Double(config.eventTimeoutMilliseconds) / 1000 + 1) > leaseUntil {
                Self.giveBack(context, claimed[index...].map(\.delivery.seq).filter { workers?.take($0, owner: owner) ?? true }, owner: owner)
                break
            }
            // Taken from the held ones before its post: what the stop took meanwhile, it gave back.
            guard workers?.take(delivery.delivery.seq, owner: owner) ?? true else { continue }
            deliver(delivery)
        }
        return claimed.count
    }

    /// Gives back claimed deliveries not posted: claimable again at once, their attempt not counted.
    static func giveBack(_ context: AppContext, _ seqs: [Int], owner: String) {
        do {
            try context.webhooks.releaseDeliveries(seqs: seqs, owner: owner, now: context.now)
        } catch {
            context.log.error("outbound events: giving back \(seqs.count) claimed deliveries failed (their lease runs out): \(error)")
        }
    }

    func deliver(_ claimed: ClaimedDelivery) {
        let delivery = claimed.delivery
        let result = post(claimed)
        do {
            try context.webhooks.finishDelivery(seq: delivery.seq, owner: owner, result, now: context.now)
        } catch {
            // The lease runs out and the delivery is sent again: at least once.
            context.log.error("outbound events: recording delivery \(delivery.id) failed: \(error)")
        }
    }

    /// One attempt, and what comes of it: delivered on a 2xx, else retried later or, after the last
    /// attempt, failed.
    func post(_ claimed: ClaimedDelivery) -> DeliveryResult {
        let delivery = claimed.delivery
        let started = ContinuousClock.now
        var status: Int?
        var error: String
        do {
            let secrets = try signingSecrets(claimed)
            let body = Array(claimed.payload.utf8)
            let headers = [
                "Content-Type: application/json", "User-Agent: Edmo-Events/1",
                "Edmo-Event-Id: \(delivery.eventId)", "Edmo-Event-Type: \(delivery.eventType)",
                "Edmo-Delivery-Id: \(delivery.id)",
                "Edmo-Signature: \(OutboundEvents.signature(body: body, secrets: secrets, at: context.now))",
            ]
            var http = HTTPClient()
            http.connectTimeout = min(3, Double(config.eventTimeoutMilliseconds) / 1000)
            http.totalTimeout = Double(config.eventTimeoutMilliseconds) / 1000
            http.maxResponseBytes = 64 << 10
            http.allowPrivateNetworks = config.allowPrivateURLs
            let response = try http.send(method: "POST", url: claimed.url, headers: headers, body: body)
            status = response.status
            if (200..<300).contains(response.status) {
                return .delivered(status: response.status, ms: Self.milliseconds(since: started))
            }
            error = "the endpoint answered \(response.status)"
        } catch let failure as HTTPClientError {
            error = failure.description
        } catch let failure as CredentialError {
            error = failure.description
        } catch {
            return schedule(delivery, "\(error)", status: nil, started)
        }
        return schedule(delivery, error, status: status, started)
    }

    func schedule(_ delivery: WebhookDelivery, _ error: String, status: Int?, _ started: ContinuousClock.Instant) -> DeliveryResult {
        let ms = Self.milliseconds(since: started)
        guard delivery.attempts < config.eventMaxAttempts else { return .failed(error: error, status: status, ms: ms) }
        let delay = OutboundEvents.retryDelay(
            afterAttempt: delivery.attempts, baseMilliseconds: config.eventRetryBaseMilliseconds, jitter: random())
        return .retry(at: context.now.addingTimeInterval(delay), error: error, status: status, ms: ms)
    }

    /// The current secret, and the previous one until its grace period ends.
    func signingSecrets(_ claimed: ClaimedDelivery) throws -> [String] {
        var secrets = [String(decoding: try context.unseal(claimed.secret), as: UTF8.self)]
        if let previous = claimed.previousSecret, let until = claimed.previousSecretUntil.flatMap(Timestamp.parse), until > context.now {
            secrets.append(String(decoding: try context.unseal(previous), as: UTF8.self))
        }
        return secrets
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Removes settled deliveries and their events older than `EDMO_EVENT_RETENTION_DAYS`, in batches; one
    /// host per turn. `edmo serve` runs it every minute.
    public static func prune(_ context: AppContext) {
        do {
            guard try context.resources.claimJob("webhook-prune", every: 50, now: context.now) else { return }
            let cutoff = context.now.addingTimeInterval(-Double(context.config.eventRetentionDays) * 86_400)
            for _ in 0..<100 {
                guard try context.webhooks.prune(before: cutoff, limit: 500) > 0 else { break }
            }
        } catch {
            context.log.error("outbound events: pruning old deliveries failed: \(error)")
        }
    }

    /// `edmo serve`'s delivery threads: each claims a batch, posts it, and sleeps a poll interval when
    /// there was nothing to claim, until they are stopped (`DeliveryWorkers.stop`).
    public static func start(_ context: AppContext) -> DeliveryWorkers {
        let workers = DeliveryWorkers(context: context)
        for _ in 0..<context.config.eventWorkers {
            var delivery = EventDelivery(context: context)
            delivery.workers = workers
            let worker = delivery
            workers.running.enter()
            Thread.detachNewThread {
                while !workers.stopping {
                    if worker.runOnce() == 0 { Thread.sleep(forTimeInterval: Double(context.config.eventPollMilliseconds) / 1000) }
                }
                workers.running.leave()
            }
        }
        return workers
    }
}
