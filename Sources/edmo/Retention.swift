import ArgumentParser
import EdmoCore
import EdmoService
import EdmoStore
import Foundation

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Remove conversations older than their organisation's retention period (the setting, else EDMO_RETENTION_DAYS).",
        subcommands: [Run.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the retention sweep now, to the end, and print what it removed per organisation. `edmo serve` "
                + "runs it in the background every 5 minutes on one host; the analytics keep counting what it removes.")

        func run() throws {
            let config = try Startup.config(needsSecretKey: false)
            let context = AppContext(config: config, stores: try Startup.database(config).stores)
            let report = try Retention.sweep(context)
            for entry in report.organizations {
                print("\(entry.organization.name) (\(entry.organization.id)): kept \(entry.days) days; removed "
                    + "\(entry.removed.conversations) conversations, \(entry.removed.messages) messages")
            }
            if report.organizations.isEmpty { print("no organisation has a retention period: nothing to remove") }
            print("removed \(report.removed.conversations) conversations and \(report.removed.messages) messages")
        }
    }
}

struct Erase: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase one person's conversations in an organisation (messages, transcripts, recording links, summaries); "
            + "the analytics keep their anonymous counts, and a later report of an erased call is dropped.")

    @Option(help: "The organisation, by id or by name.") var org: String
    @Option(help: "The caller's phone number as the platform reported it (+17865550123): every call from it.")
    var phoneNumber: String?
    @Option(help: "A web chat's id (the chatId of POST /api/chat).") var chatId: String?

    func validate() throws {
        guard (phoneNumber == nil) != (chatId == nil) else { throw ValidationError("give exactly one of --phone-number and --chat-id") }
    }

    func run() throws {
        let config = try Startup.config(needsSecretKey: false)
        let context = AppContext(config: config, stores: try Startup.database(config).stores)
        let organizations = try context.accounts.organizationSettings().map { $0.organization }
        guard let organization = organizations.first(where: { $0.id == org }) ?? organizations.first(where: { $0.name == org }) else {
            throw ValidationError("no organisation has the id or name '\(org)'")
        }
        let selector: ErasureSelector
        do {
            selector = try Erasure.selector(phoneNumber: phoneNumber, chatId: chatId)
        } catch let failure as ValidationFailure {
            throw ValidationError(failure.message)
        }
        let origin = AuditOrigin(actor: .cli(orgId: organization.id, label: Users.shellUser), address: nil)
        let result = try Erasure.run(context, orgId: organization.id, selector, by: origin)
        print("erased \(result.removed.conversations) conversations and \(result.removed.messages) messages "
            + "in \(organization.name) (\(organization.id))")
    }
}
