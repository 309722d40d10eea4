import EdmoCore
import EdmoService
import EdmoProviders
import EdmoSQLite
import EdmoStore
import ArgumentParser
import EdmoAPI
import EdmoFastCGI
import Foundation

@main
struct Edmo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Edmo Agent Builder API: a FastCGI responder over SQLite or PostgreSQL.",
        subcommands: [
            Serve.self, Migrate.self, Users.self, AnalyticsCommand.self, ImportCalls.self, CopyData.self, BackupCommand.self,
            RestoreCommand.self, RotateSecretKey.self, RetentionCommand.self, Erase.self,
        ],
        defaultSubcommand: Serve.self)
}

/// Shared start-up: settings from the environment, the database opened and migrated.
enum Startup {
    static func config(needsSecretKey: Bool) throws -> Config {
        do {
            return try Config.fromEnvironment(ProcessInfo.processInfo.environment, needsSecretKey: needsSecretKey)
        } catch let error as ConfigError {
            throw ValidationError("configuration: \(error.description)")
        }
    }

    static func database(_ config: Config, onCommit: (@Sendable (Duration) -> Void)? = nil) throws -> Database {
        let executable = CommandLine.arguments.first ?? "edmo"
        let path = Migration.locate(configured: config.migrationsPath, executable: executable)
        guard let path else { throw ValidationError("cannot find the migrations folder; set EDMO_MIGRATIONS") }
        return try Database.open(config, migrations: path, onCommit: onCommit)
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve FastCGI: on --socket or --listen, a systemd socket (fd 3), a spawn-fcgi socket (fd 0), or one CGI request.")

    @Option(help: "Unix socket path to listen on.") var socket: String?
    @Option(help: "Mode of the Unix socket, octal.") var socketMode: String = "660"
    @Option(help: "TCP address to listen on, HOST:PORT.") var listen: String?
    @Option(help: "Worker threads (default EDMO_WORKERS or 2 x cores).") var workers: Int?

    func run() throws {
        // Before any thread starts (GRDB's, the idle sweeper): only the server's sigwait takes TERM and INT.
        FastCGIServer.blockStopSignals()
        var config = try Startup.config(needsSecretKey: true)
        if let workers { config.workers = workers }
        let environment = ProcessInfo.processInfo.environment
        let cgi = socket == nil && listen == nil && Listener.systemd(environment: environment, consume: false) == nil
            && Listener.inheritedStdin() == nil && environment["GATEWAY_INTERFACE"] != nil
        let metrics = Metrics()
        let context = try AppContext(
            config: config, stores: Startup.database(config, onCommit: metrics.observeCommit).stores, metrics: metrics)
        let router = Router()
        if cgi {
            CGI.serveOnce(maxBodyBytes: config.maxBodyBytes) { router.handle($0, context) }
            return
        }
        if config.previousSecretKey != nil {
            context.log.info(
                "EDMO_SECRET_KEY_PREVIOUS is set: a key rotation is under way; once `edmo rotate-secret-key` and "
                    + "`edmo rotate-secret-key --check` have run, remove it and restart")
        }
        // Settle what a crashed predecessor left half done before taking requests.
        context.recoverProviderOperations()
        Thread.detachNewThread {
            while true {
                context.closeIdleConversations()
                AuditTrail.prune(context)
                Retention.runClaimed(context)
                EventDelivery.prune(context)
                Idempotency.purge(context)
                Thread.sleep(forTimeInterval: 60)
            }
        }
        // Outbound events: threads of their own, so a slow receiver never holds a request worker.
        let deliveries = EventDelivery.start(context)

        let listenFd: Int32
        if let socket {
            guard let mode = mode_t(socketMode, radix: 8) else { throw ValidationError("--socket-mode must be octal, like 660") }
            listenFd = try Listener.unixSocket(path: socket, mode: mode)
        } else if let listen {
            listenFd = try Listener.tcp(listen)
        } else if let fd = Listener.systemd(environment: environment) {
            listenFd = fd
        } else if let fd = Listener.inheritedStdin() {
            listenFd = fd
        } else {
            throw ValidationError("nothing to serve on: pass --socket PATH or --listen HOST:PORT, or start under systemd, spawn-fcgi or as CGI")
        }
        let server = FastCGIServer(
            listenFd: listenFd, workers: config.workers, maxBodyBytes: config.maxBodyBytes, log: context.log,
            metrics: metrics
        ) { request in router.handle(request, context) }
        try server.run()
        // Within systemd's stop timeout (systemd/edmo.service): the requests drained, the events' claims given back.
        let givenBack = deliveries.stop(waiting: 2)
        if givenBack > 0 { context.log.info("outbound events: gave back \(givenBack) claimed deliveries not yet posted") }
        if let socket { unlink(socket) }
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations to EDMO_DATABASE.")

    func run() throws {
        let config = try Startup.config(needsSecretKey: false)
        let database = try Startup.database(config)
        print("migrations applied: \(try database.appliedMigrations().joined(separator: ", "))")
    }
}
