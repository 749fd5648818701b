// The table of the console's commands, and how one query text becomes a reply: grammar, lookup, rights, run.
import PGWire
import PoolCore

public enum AdminCommands {
    public static let all: [any AdminCommand.Type] = [
        ShowHelp.self, ShowVersion.self, ShowConfig.self, ShowDatabases.self, ShowPools.self, ShowUsers.self,
        ShowLists.self, ShowState.self, ShowClients.self, ShowServers.self, ShowPreparedStatements.self,
        ShowStats.self, ShowStatsTotals.self, ShowStatsAverages.self, ShowTotals.self, ShowMem.self, ShowSLA.self, ShowTuning.self, ShowNodes.self,
        PauseCommand.self, ResumeCommand.self, ReloadCommand.self, ShutdownCommand.self, DisableCommand.self, EnableCommand.self,
        KillCommand.self, KillClientCommand.self, ReconnectCommand.self, WaitCloseCommand.self, SetCommand.self,
        DrainNodeCommand.self, UndrainNodeCommand.self, ShowCache.self, ShowCacheCandidates.self, CacheClearCommand.self, CacheInvalidateCommand.self,
    ]

    /// The virtual database names of the console: ours, and PgBouncer's so existing tools and exporters work.
    public static let databaseNames: Set<String> = ["pgswift", "pgbouncer"]
    /// The console's own entry in SHOW POOLS/DATABASES/USERS/STATS, under PgBouncer's name, which exporters expect.
    public static let poolName = PoolKey(database: "pgbouncer", user: "pgbouncer")

    /// What drivers ask for on connect; the console answers like PgBouncer so they get past it.
    static let fakeParameters = ["client_encoding": "UTF-8", "default_transaction_isolation": "read committed",
                                 "standard_conforming_strings": "on", "datestyle": "ISO", "timezone": "GMT"]

    private static let byName: [String: any AdminCommand.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Runs one query text; invalid text and missing rights are errors as PgBouncer words them.
    public static func execute(_ text: String, rights: AdminRights, runtime: any AdminRuntime) async -> AdminReply {
        switch resolve(text, rights: rights) {
        case .reply(let reply):
            return reply
        case .run(let command, let argument):
            do {
                return try await command.run(AdminCall(runtime: runtime, argument: argument))
            } catch {
                return .error(PGError(SQLState.protocolViolation, "command failed: \(error)"))
            }
        }
    }

    enum Resolved {
        case reply(AdminReply)
        case run(any AdminCommand.Type, argument: String?)
    }

    /// Everything up to running the command: pure, so every refusal is decided without a runtime.
    static func resolve(_ text: String, rights: AdminRights) -> Resolved {
        let invalid = Resolved.reply(.error(PGError(SQLState.protocolViolation, "invalid command '\(text)', use SHOW HELP;")))
        let line: AdminCommandLine
        switch AdminCommandLine.parse(text) {
        case .command(let l): line = l
        case .invalid: return invalid
        case .badArguments: return .reply(.error(PGError(SQLState.protocolViolation, "bad arguments")))
        }
        var key = line.verb
        var argument = line.argument
        if line.verb == "SHOW" {
            guard let what = line.argument else { return invalid }
            if let value = fakeParameters[what.lowercased()] {
                var t = AdminTable([(what.lowercased(), .text)])
                t.add([.text(value)])
                return .reply(.table(t))
            }
            key = "SHOW \(what.uppercased())"
            argument = nil
        }
        guard let command = byName[key] else { return invalid }
        switch (command.argument, argument) {
        case (.none, .some): return invalid
        case (.required, .none) where command.missingArgument == nil: return invalid
        default: break
        }
        if command.needsAdmin && rights != .admin && !(command == SetCommand.self && SetCommand.ignored.contains(line.setting?.key ?? "")) {
            return .reply(.error(PGError(SQLState.protocolViolation, "admin access needed")))
        }
        if command.argument == .required && argument == nil, let message = command.missingArgument {
            return .reply(.error(PGError(SQLState.protocolViolation, message)))
        }
        return .run(command, argument: argument)
    }
}
