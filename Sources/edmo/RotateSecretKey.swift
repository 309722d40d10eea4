import ArgumentParser
import EdmoService
import EdmoStore
import Foundation

/// `edmo rotate-secret-key`: the work is `SecretRotation`; this checks the keys and prints what it did.
struct RotateSecretKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-secret-key",
        abstract: "Re-seal every stored credential still under EDMO_SECRET_KEY_PREVIOUS with EDMO_SECRET_KEY; resumable.",
        discussion: """
            The keys come from the environment, never from arguments: EDMO_SECRET_KEY (the new key) and \
            EDMO_SECRET_KEY_PREVIOUS (the key being retired), or EDMO_SECRET_KEY_FILE and \
            EDMO_SECRET_KEY_PREVIOUS_FILE naming files that hold them (mode 600 or stricter). Run it while the \
            service serves, once every host has been restarted with both keys (README: "Rotating \
            EDMO_SECRET_KEY"). Tool secrets and phone-number credentials are read in id order, a batch at a \
            time; each batch is written in one transaction, and a value is replaced only if it still holds the \
            bytes that were read, so a credential changed meanwhile is never overwritten. Stopped or killed at \
            any point, it resumes when run again: what already opens with EDMO_SECRET_KEY is skipped. A value \
            that opens with neither key is reported by table and id, left as it is, and makes the command exit \
            1 after doing the rest. With --check it changes nothing and needs only EDMO_SECRET_KEY: it counts \
            what opens with which key and exits 1 unless everything opens with EDMO_SECRET_KEY (the test to \
            pass before removing EDMO_SECRET_KEY_PREVIOUS).
            """)

    @Option(help: "Credentials read, and re-sealed in one transaction, per batch (1-10000).")
    var batchSize = 100

    @Option(help: "Re-seal at most this many credentials, then stop (run again to go on).")
    var limit: Int?

    @Flag(help: "Change nothing: count the credentials under each key; exit 1 unless all open with EDMO_SECRET_KEY.")
    var check = false

    func validate() throws {
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be in 1...10000") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if check && limit != nil { throw ValidationError("--limit re-seals; --check changes nothing: give one of them") }
    }

    func run() throws {
        let config = try Startup.config(needsSecretKey: true)
        let box = SecretBox(key: config.secretKey, previous: config.previousSecretKey)
        do {
            try SecretRotation.checkKeys(box, checkOnly: check)
        } catch let refusal as SecretRotation.Refusal {
            throw ValidationError(refusal.description)
        }
        let rotation = try SecretRotation(
            store: try Startup.database(config).stores.resources, box: box, batchSize: batchSize, limit: limit,
            checkOnly: check)
        let name = "rotate-secret-key" + (check ? " --check" : "")
        let report = try rotation.run { print("  \($0)") }
        for item in report.unreadable {
            FileHandle.standardError.write(Data("\(name): unreadable with either key: \(item.table.rawValue) \(item.id)\n".utf8))
        }
        if check {
            print("\(name): under EDMO_SECRET_KEY \(report.alreadyCurrent), under EDMO_SECRET_KEY_PREVIOUS \(report.resealed), unreadable \(report.unreadable.count)")
            if report.resealed > 0 || !report.unreadable.isEmpty { throw ExitCode.failure }
            return
        }
        print("\(name): re-sealed \(report.resealed), already current \(report.alreadyCurrent), unreadable \(report.unreadable.count)")
        if report.changedMeanwhile > 0 {
            print("\(name): \(report.changedMeanwhile) changed by the service while being re-sealed; each was read again")
        }
        if report.stoppedAtLimit { print("\(name): stopped at --limit \(limit ?? 0); run it again to go on") }
        if report.leftChanging > 0 { print("\(name): \(report.leftChanging) kept changing; run it again") }
        if report.complete && report.unreadable.isEmpty {
            print("\(name): done: every stored credential opens with EDMO_SECRET_KEY; EDMO_SECRET_KEY_PREVIOUS may go")
        }
        if !report.unreadable.isEmpty { throw ExitCode.failure }
    }
}
