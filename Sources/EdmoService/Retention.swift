import EdmoCore
import EdmoStore
import Foundation

/// Conversations are kept for their organisation's retention period (its setting, else
/// `EDMO_RETENTION_DAYS`; neither: forever), then removed with their messages by a background sweep, in
/// batches of one short transaction each. Their counts stay in the analytics (`analytics_retired`).
public enum Retention {
    /// Conversations per transaction: the writer (SQLite's one, or the rows on PostgreSQL) is held briefly.
    public static let batchSize = 500
    /// `edmo serve` sweeps at most this often, on one host at a time (`job_claims`).
    public static let jobName = "retention-sweep"
    public static let sweepInterval: TimeInterval = 300
    /// Batches one background sweep removes at most, so the background thread gets back to its other work
    /// (the idle-chat sweep); the rest is left for the next turn.
    public static let backgroundBatches = 200

    /// An organisation's retention: its own setting, else the deployment's default; nil means forever.
    public static func effectiveDays(_ settings: OrganizationSettings, _ config: Config) -> Int? {
        guard let days = settings.retentionDays ?? config.retentionDays, days > 0 else { return nil }
        return days
    }

    /// Conversations created before this are past their retention.
    public static func cutoff(days: Int, now: Date) -> Date { now.addingTimeInterval(-TimeInterval(days) * 86_400) }

    /// A setting as a client gives it: null (the deployment's default), 0 (forever) or 1...36500 days.
    public static func validate(_ days: Int?) throws -> OrganizationSettings {
        if let days, !OrganizationSettings.retentionRange.contains(days) {
            throw ValidationFailure(
                "Invalid value for field: retentionDays (an integer from 0, keep forever, to 36500 days; null for the deployment's default)")
        }
        return OrganizationSettings(retentionDays: days)
    }

    public struct OrganizationReport: Sendable, Equatable {
        public var organization: Organization
        public var days: Int
        public var removed: RemovedCounts
    }

    public struct Report: Sendable, Equatable {
        /// The organisations with a retention period, and what was removed from each.
        public var organizations: [OrganizationReport] = []
        public var removed: RemovedCounts { organizations.reduce(RemovedCounts()) { $0 + $1.removed } }
        /// Whether `maxBatches` stopped it before everything past its retention was removed.
        public var unfinished = false
    }

    /// Removes every conversation past its organisation's retention, `batchSize` per transaction, until none
    /// is left or `maxBatches` have run. `edmo retention run` runs it at once; `edmo serve` through `runClaimed`.
    public static func sweep(_ context: AppContext, maxBatches: Int = .max) throws -> Report {
        var report = Report()
        var batches = 0
        let now = context.now
        for (organization, settings) in try context.accounts.organizationSettings() {
            guard let days = effectiveDays(settings, context.config) else { continue }
            var removed = RemovedCounts()
            while true {
                guard batches < maxBatches else { report.unfinished = true; break }
                let batch = try context.analytics.removeConversations(
                    orgId: organization.id, createdBefore: cutoff(days: days, now: now), limit: batchSize)
                batches += 1
                removed = removed + batch
                if batch.conversations < batchSize { break }
            }
            report.organizations.append(OrganizationReport(organization: organization, days: days, removed: removed))
        }
        return report
    }

    /// `edmo serve`'s turn, every minute: one host sweeps at most every `sweepInterval` seconds.
    public static func runClaimed(_ context: AppContext) {
        do {
            guard try context.resources.claimJob(jobName, every: sweepInterval, now: context.now) else { return }
            let report = try sweep(context, maxBatches: backgroundBatches)
            let removed = report.removed
            if removed.conversations > 0 {
                context.log.info("retention: removed \(removed.conversations) conversations and \(removed.messages) messages"
                    + (report.unfinished ? "; more are left for the next sweep" : ""))
            }
        } catch {
            context.log.error("retention sweep failed: \(error)")
        }
    }

    /// A call report for a conversation already past its organisation's retention is not stored: it would
    /// be removed at the next sweep, and a report resent after its call was removed would count it twice.
    public static func isExpired(_ record: ConversationRecord, _ context: AppContext) throws -> Bool {
        guard let settings = try context.accounts.settings(orgId: record.orgId),
              let days = effectiveDays(settings, context.config),
              let created = Timestamp.parse(record.createdAt)
        else { return false }
        return created < cutoff(days: days, now: context.now)
    }
}
