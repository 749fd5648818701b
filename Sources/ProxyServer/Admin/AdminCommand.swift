// The admin console's commands: what each one is called, who may run it, and the table that finds them.
import NIOCore
import PGWire

/// Read-only (stats_users) or everything (admin_users).
enum AdminRights: Sendable {
    case stats, admin
}

/// Whether a command takes an argument (a database, a client id, a SHUTDOWN mode).
enum AdminArgument: Sendable {
    case none, optional, required
}

/// One invocation: the running proxy, the argument, and the session asking.
struct AdminCall: Sendable {
    let runtime: ProxyRuntime
    let argument: String?
    let eventLoop: EventLoop
    /// The asking client's id, so it can tell itself apart in SHOW CLIENTS.
    let clientID: Int

    /// The reply of a command whose figures are gathered with async code (the status port's reports).
    func answer(_ body: @escaping @Sendable () async -> AdminReply) -> EventLoopFuture<AdminReply> {
        let promise = eventLoop.makePromise(of: AdminReply.self)
        promise.completeWithTask(body)
        return promise.futureResult
    }
}

/// A command of the console. Adding one (SHOW NODES, SHOW CACHE, ...) is a new file and a line in `AdminConsole.commands`.
protocol AdminCommand: Sendable {
    /// The words that select it, upper-case: "SHOW POOLS", "PAUSE".
    static var name: String { get }
    static var argument: AdminArgument { get }
    /// SHOW commands are open to stats_users; everything else needs admin_users.
    static var needsAdmin: Bool { get }
    /// PgBouncer's answer when a required argument is missing (otherwise "invalid command").
    static var missingArgument: String? { get }
    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply>
}

extension AdminCommand {
    static var argument: AdminArgument { .none }
    static var needsAdmin: Bool { !name.hasPrefix("SHOW ") }
    static var missingArgument: String? { nil }
}

enum AdminConsole {
    static let commands: [any AdminCommand.Type] = [
        ShowHelp.self, ShowVersion.self, ShowConfig.self, ShowDatabases.self, ShowPools.self, ShowUsers.self,
        ShowLists.self, ShowState.self, ShowClients.self, ShowServers.self, ShowPreparedStatements.self,
        ShowStats.self, ShowStatsTotals.self, ShowStatsAverages.self, ShowTotals.self, ShowMem.self, ShowSLA.self, ShowTuning.self,
        PauseCommand.self, ResumeCommand.self, ReloadCommand.self, ShutdownCommand.self, DisableCommand.self, EnableCommand.self,
        KillCommand.self, KillClientCommand.self, ReconnectCommand.self, WaitCloseCommand.self, SetCommand.self,
    ]

    /// What drivers ask for on connect; the console answers like PgBouncer so they get past it.
    static let fakeParameters = ["client_encoding": "UTF-8", "default_transaction_isolation": "read committed",
                                 "standard_conforming_strings": "on", "datestyle": "ISO", "timezone": "GMT"]

    private static let byName: [String: any AdminCommand.Type] = Dictionary(uniqueKeysWithValues: commands.map { ($0.name, $0) })

    /// Runs one query text; invalid text and missing rights are errors as PgBouncer words them.
    static func execute(_ text: String, rights: AdminRights, runtime: ProxyRuntime, eventLoop: EventLoop, clientID: Int) -> EventLoopFuture<AdminReply> {
        let invalid = AdminReply.error(PGError(SQLState.protocolViolation, "invalid command '\(text)', use SHOW HELP;"))
        let line: AdminCommandLine
        switch AdminCommandLine.parse(text) {
        case .command(let l): line = l
        case .invalid: return eventLoop.makeSucceededFuture(invalid)
        case .badArguments: return eventLoop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "bad arguments")))
        }
        var key = line.verb
        var argument = line.argument
        if line.verb == "SHOW" {
            guard let what = line.argument else { return eventLoop.makeSucceededFuture(invalid) }
            if let value = fakeParameters[what.lowercased()] {
                var t = AdminTable([(what.lowercased(), .text)])
                t.add([.text(value)])
                return eventLoop.makeSucceededFuture(.table(t))
            }
            key = "SHOW \(what.uppercased())"
            argument = nil
        }
        guard let command = byName[key] else { return eventLoop.makeSucceededFuture(invalid) }
        switch (command.argument, argument) {
        case (.none, .some): return eventLoop.makeSucceededFuture(invalid)
        case (.required, .none) where command.missingArgument == nil: return eventLoop.makeSucceededFuture(invalid)
        default: break
        }
        if command.needsAdmin && rights != .admin && !(command == SetCommand.self && SetCommand.ignored.contains(line.setting?.key ?? "")) {
            return eventLoop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "admin access needed")))
        }
        if command.argument == .required && argument == nil, let message = command.missingArgument {
            return eventLoop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, message)))
        }
        return command.run(AdminCall(runtime: runtime, argument: argument, eventLoop: eventLoop, clientID: clientID))
    }
}
