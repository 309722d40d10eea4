import EdmoStore
import Foundation

/// `edmo rotate-secret-key`: re-seals every stored credential that opens with the previous key under the
/// current one. It walks each sealed table in id order, a batch at a time; each batch's replacements are one
/// transaction, and each replacement a compare-and-swap on the exact bytes read, so a credential that the
/// server changed meanwhile is never overwritten with the stale value (it is read again, and left alone if
/// it opens with the current key, as everything the server seals does). Nothing is remembered between runs:
/// a run killed at any point is resumed by running it again, which skips what already opens with the
/// current key. What opens with neither key is reported, never changed.
public struct SecretRotation {
    public struct Unreadable: Sendable, Equatable, CustomStringConvertible {
        public let table: SealedTable
        public let id: String
        public var description: String { "\(table.rawValue) \(id)" }
    }

    public struct Report: Sendable, Equatable {
        /// Sealed under the previous key and replaced (or, checking only, to be replaced).
        public var resealed = 0
        public var alreadyCurrent = 0
        public var unreadable: [Unreadable] = []
        /// Compare-and-swaps that found the value changed since it was read; each was looked at again.
        public var changedMeanwhile = 0
        /// Still changing after `attempts` reads: left for the next run.
        public var leftChanging = 0
        /// `limit` was reached before the end.
        public var stoppedAtLimit = false

        public var complete: Bool { !stoppedAtLimit && leftChanging == 0 }

        public init() {}
    }

    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    let store: any ResourceStore
    let box: SecretBox
    public var batchSize: Int
    /// Re-seal at most this many, then stop (an operator's cautious start; tests interrupt with it).
    public var limit: Int?
    /// Count only; change nothing. The previous key is then optional.
    public var checkOnly: Bool
    /// How often a value that keeps changing under the swap is read again before it is left for the next run.
    public var attempts = 3
    /// Runs between reading a batch and writing it (tests change a credential or fail here).
    public var beforeWrite: (SealedTable, [SealedChange]) throws -> Void = { _, _ in }

    public init(store: any ResourceStore, box: SecretBox, batchSize: Int = 100, limit: Int? = nil, checkOnly: Bool = false) throws {
        try Self.checkKeys(box, checkOnly: checkOnly)
        precondition(batchSize > 0 && (limit ?? 1) > 0, "batch size and limit must be positive")
        (self.store, self.box, self.batchSize, self.limit, self.checkOnly) = (store, box, batchSize, limit, checkOnly)
    }

    /// A rotation needs the key being retired, and a new key that differs from it; a check needs neither.
    public static func checkKeys(_ box: SecretBox, checkOnly: Bool) throws {
        guard !checkOnly else { return }
        guard let previous = box.previousKey else {
            throw Refusal(
                description: "EDMO_SECRET_KEY_PREVIOUS is not set: give the key being retired as EDMO_SECRET_KEY_PREVIOUS (or EDMO_SECRET_KEY_PREVIOUS_FILE) and the new one as EDMO_SECRET_KEY")
        }
        guard previous != box.key else {
            throw Refusal(
                description: "EDMO_SECRET_KEY_PREVIOUS is the same key as EDMO_SECRET_KEY: set EDMO_SECRET_KEY to the new key (`openssl rand -hex 32`)")
        }
    }

    /// `progress` hears one line per batch.
    public func run(progress: (String) -> Void = { _ in }) throws -> Report {
        var report = Report()
        for table in SealedTable.allCases {
            var cursor: String?
            while !report.stoppedAtLimit {
                let page = try store.sealedValues(table, after: cursor, through: nil, limit: batchSize)
                guard let last = page.last else { break }
                let examined = try settle(table, page, after: cursor, &report)
                guard examined > 0 else { break }  // the limit was reached before this page
                cursor = examined == page.count ? last.id : page[examined - 1].id
                progress(
                    "\(table.rawValue): through \(cursor!): re-sealed \(report.resealed), already current \(report.alreadyCurrent), unreadable \(report.unreadable.count)")
            }
        }
        return report
    }

    /// One batch: classifies the page's values, replaces those under the previous key, and looks again at
    /// those changed meanwhile. Returns how many of the page it examined (fewer when `limit` cut it short).
    private func settle(_ table: SealedTable, _ page: [SealedValue], after cursor: String?, _ report: inout Report) throws -> Int {
        var changes: [SealedChange] = []
        var examined = 0
        for value in page {
            if let limit, report.resealed + changes.count >= limit, box.opening(value.sealed)?.by == .previous {
                report.stoppedAtLimit = true
                break
            }
            examined += 1
            classify(table, value, into: &changes, &report)
        }
        for attempt in 1...attempts {
            guard !changes.isEmpty else { break }
            if checkOnly {
                report.resealed += changes.count
                break
            }
            try beforeWrite(table, changes)
            let replaced = Set(try store.replaceSealedValues(table, changes))
            report.resealed += replaced.count
            let missed = Set(changes.map(\.id)).subtracting(replaced)
            report.changedMeanwhile += missed.count
            changes = []
            guard !missed.isEmpty else { break }
            // What is there now (a deleted row is simply gone), within this batch's range of ids.
            let now = try store.sealedValues(table, after: cursor, through: page[examined - 1].id, limit: Int.max)
                .filter { missed.contains($0.id) }
            for value in now { classify(table, value, into: &changes, &report) }
            if attempt == attempts { report.leftChanging += changes.count }
        }
        return examined
    }

    private func classify(_ table: SealedTable, _ value: SealedValue, into changes: inout [SealedChange], _ report: inout Report) {
        switch box.opening(value.sealed) {
        case (let plaintext, .previous)?:
            changes.append(SealedChange(id: value.id, old: value.sealed, new: box.seal(plaintext)))
        case (_, .current)?:
            report.alreadyCurrent += 1
        case nil:
            report.unreadable.append(Unreadable(table: table, id: value.id))
        }
    }
}
