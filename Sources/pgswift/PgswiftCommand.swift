// The pgswift command line: PgBouncer's options plus --check, then the proxy's service group.
import ArgumentParser
import Config
import Foundation
import Logging
import ProxyServer
import ServiceLifecycle

@main
struct PgswiftCommand: AsyncParsableCommand {
    static let version = PgswiftVersion.current

    static let configuration = CommandConfiguration(
        commandName: "pgswift",
        abstract: "A PostgreSQL connection pooler that reads pgbouncer.ini.",
        discussion: """
            Signals: SIGHUP reloads the config, SIGINT/SIGTERM shut down safely (stop accepting, let clients \
            finish within shutdown_timeout), SIGQUIT exits at once, SIGUSR1 pauses, SIGUSR2 resumes.
            Any setting can be overridden from the environment as PGSWIFT_<KEY>, e.g. PGSWIFT_LISTEN_PORT=6433.
            """,
        version: "pgswift \(version)")

    @Flag(name: [.short, .long], help: "Do not log to stderr.")
    var quiet = false

    @Flag(name: [.short, .long], help: "More logging; repeat for more.")
    var verbose: Int

    @Flag(name: [.short, .long], help: "Run in the background (needs logfile; PgBouncer's -d).")
    var daemon = false

    @Flag(name: .long, help: "Validate the config and exit; every problem is printed with file, line and key.")
    var check = false

    @Argument(help: "The config file (pgbouncer.ini syntax).")
    var configFile: String

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        if check {
            guard Self.checkConfig(configFile, env) else { throw ExitCode(1) }
            return
        }
        guard let preliminary = Self.loadConfig(configFile, env) else { throw ExitCode(1) }
        if daemon {
            guard !preliminary.string("logfile").isEmpty else {
                FileHandle.standardError.write(Data("pgswift: -d needs logfile to be set\n".utf8))
                throw ExitCode(1)
            }
            // The child runs the same command without -d; it logs to logfile, not to this terminal.
            var args: [String] = []
            for a in CommandLine.arguments.dropFirst() where a != "--daemon" {
                // Short flags may be combined (-qd, -vvd): keep the others.
                if a.hasPrefix("-") && !a.hasPrefix("--") && a.dropFirst().allSatisfy({ "qvd".contains($0) }) {
                    let kept = a.filter { $0 != "d" }
                    if kept != "-" { args.append(kept) }
                } else {
                    args.append(a)
                }
            }
            if !args.contains("-q") && !args.contains("--quiet") { args.insert("--quiet", at: 0) }
            do {
                _ = try Daemonize.spawnDetached(arguments: args)
            } catch {
                FileHandle.standardError.write(Data("pgswift: \(error)\n".utf8))
                throw ExitCode(1)
            }
            return
        }
        let configuredVerbosity = preliminary.int("verbose")
        let level: Logger.Level = switch max(verbose, configuredVerbosity) {
        case 0: .info
        case 1: .debug
        default: .trace
        }
        let sink = LogSink(logfile: preliminary.string("logfile"), quiet: quiet)
        let logger = Logger(label: "pgswift") { _ in PgswiftLogHandler(sink: sink, level: level) }
        guard let proxy = Self.makeProxy(configFile, env, sink, logger) else { throw ExitCode(1) }
        logger.info("pgswift \(Self.version) starting")
        let group = ServiceGroup(configuration: .init(services: [.init(service: proxy)], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "pgswift.lifecycle") { _ in SwiftLogNoOpLogHandler() }))
        try await group.run()
        logger.info("pgswift stopped")
    }

    static func checkConfig(_ path: String, _ env: [String: String]) -> Bool {
        do {
            for w in try ProxyChecks.check(path: path, environment: env) { print("warning: \(w)") }
            print("\(path): OK")
            return true
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            return false
        }
    }

    static func loadConfig(_ path: String, _ env: [String: String]) -> ProxyConfig? {
        do {
            return try ConfigLoader.load(path: path, environment: env)
        } catch {
            FileHandle.standardError.write(Data(("pgswift: invalid config:\n" + error.description + "\n").utf8))
            return nil
        }
    }

    static func makeProxy(_ path: String, _ env: [String: String], _ sink: LogSink, _ logger: Logger) -> Proxy? {
        do {
            return try Proxy(configPath: path, environment: env, sink: sink, logger: logger)
        } catch {
            logger.error("invalid config:\n\(error.description)")
            return nil
        }
    }
}
