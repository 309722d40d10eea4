import EdmoCore
import EdmoService
import EdmoProviders
import EdmoSQLite
import EdmoStore
import ArgumentParser
import EdmoAPI
import Foundation

struct Users: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users from the shell (each change is recorded in the audit log as the CLI's, with the shell user).",
        subcommands: [Add.self, List.self, SetRole.self, Disable.self, Enable.self, ResetPassword.self, EnsureAdmin.self])

    static func context() throws -> AppContext {
        let config = try Startup.config(needsSecretKey: false)
        return AppContext(config: config, stores: try Startup.database(config).stores)
    }

    /// The shell user running the command (the one `sudo` was run by, when it was), for the audit log.
    static var shellUser: String? {
        let env = ProcessInfo.processInfo.environment
        return env["SUDO_USER"].flatMap { $0.isEmpty ? nil : $0 } ?? env["USER"].flatMap { $0.isEmpty ? nil : $0 }
            ?? env["LOGNAME"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Records a change made by this command, in the user's organisation.
    static func audit(_ context: AppContext, _ action: String, _ user: UserRecord, _ changes: [String: JSONValue]) throws {
        try AuditTrail.record(
            context, actor: .cli(orgId: user.orgId, label: shellUser), address: nil, action: action,
            target: AuditTarget("user", user.id), changes: changes)
    }

    static func readPassword() throws -> String {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("no password on standard input")
        }
        guard line.count >= 8 else { throw ValidationError("the password needs at least 8 characters") }
        return line
    }

    static func find(_ context: AppContext, email: String) throws -> UserRecord {
        guard let user = try context.accounts.user(email: email.lowercased()) else {
            throw ValidationError("no user with email \(email)")
        }
        return user
    }

    static func change(_ email: String, _ body: (inout UserChange) throws -> Void) throws {
        let context = try context()
        let user = try find(context, email: email)
        var change = UserChange()
        try body(&change)
        do {
            let updated = try context.accounts.updateUser(orgId: user.orgId, id: user.id, change: change, now: context.now)
            let changes = UserAccounts.changes(from: user, to: updated, password: change.passwordHash != nil)
            if !changes.isEmpty { try audit(context, "user.update", updated, changes) }
            print("\(updated.email) \(updated.role.rawValue)\(updated.disabled ? " disabled" : "")")
        } catch let error as StoreError {
            throw ValidationError(error.description)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user (the organisation is created if needed).")
        @Option var email: String
        @Option var role: String
        @Option var name: String?
        @Option var org: String = "default"
        @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false

        func run() throws {
            guard passwordStdin else { throw ValidationError("pass --password-stdin and the password on standard input") }
            guard let role = Role(rawValue: role.uppercased()) else { throw ValidationError("--role must be ADMIN, EDITOR or VIEWER") }
            let password = try Users.readPassword()
            let context = try Users.context()
            let user = try UserAccounts.create(
                context, email: email, password: password, role: role, name: name, orgName: org)
            try Users.audit(context, "user.create", user, UserAccounts.changes(from: nil, to: user, password: true))
            print("added \(user.email) (\(user.role.rawValue)) as \(user.id) in org \(org)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every user.")
        func run() throws {
            for user in try Users.context().accounts.allUsers() {
                print("\(user.id)\t\(user.orgId)\t\(user.email)\t\(user.role.rawValue)\t\(user.disabled ? "disabled" : "active")")
            }
        }
    }

    struct SetRole: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a user's role.")
        @Option var email: String
        @Option var role: String
        func run() throws {
            guard let role = Role(rawValue: role.uppercased()) else { throw ValidationError("--role must be ADMIN, EDITOR or VIEWER") }
            try Users.change(email) { $0.role = role }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user and end their sessions.")
        @Option var email: String
        func run() throws { try Users.change(email) { $0.disabled = true } }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user.")
        @Option var email: String
        func run() throws { try Users.change(email) { $0.disabled = false } }
    }

    struct ResetPassword: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a new password (from standard input); ends the user's sessions.")
        @Option var email: String
        @Flag var passwordStdin = false
        func run() throws {
            guard passwordStdin else { throw ValidationError("pass --password-stdin and the password on standard input") }
            let password = try Users.readPassword()
            let hash = try PasswordHasher(concurrency: 1).hash(password)
            try Users.change(email) { $0.passwordHash = hash }
        }
    }

    struct EnsureAdmin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ensure-admin",
            abstract: "Create a first ADMIN when there are no users (EDMO_ADMIN_EMAIL/EDMO_ADMIN_PASSWORD, or a generated password printed once).")
        func run() throws {
            let context = try Users.context()
            guard try context.accounts.allUsers().isEmpty else { return }
            let env = ProcessInfo.processInfo.environment
            let email = env["EDMO_ADMIN_EMAIL"].flatMap { $0.isEmpty ? nil : $0 } ?? "admin@localhost"
            var password = env["EDMO_ADMIN_PASSWORD"] ?? ""
            let generated = password.isEmpty
            if generated { password = Tokens.randomHex(bytes: 12) }
            let user = try UserAccounts.create(context, email: email, password: password, role: .admin, name: "Administrator", orgName: "default")
            try Users.audit(context, "user.create", user, UserAccounts.changes(from: nil, to: user, password: true))
            print("created the first admin: \(user.email)" + (generated ? " with password \(password) (shown once)" : ""))
        }
    }
}
