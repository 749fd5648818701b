// RELOAD (reread the config, as SIGHUP) and SHUTDOWN [WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS].
import PGWire

enum ReloadCommand: AdminCommand {
    static let name = "RELOAD"

    static func run(_ call: AdminCall) -> AdminReply {
        call.runtime.reload() ? .done(tag: "RELOAD") : .error(PGError(SQLState.configFileError, "RELOAD failed, see logs for additional details"))
    }
}

enum ShutdownCommand: AdminCommand {
    static let name = "SHUTDOWN"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> AdminReply {
        let mode: ShutdownMode
        switch call.argument?.uppercased() {
        case nil: mode = .immediate
        case "WAIT_FOR_SERVERS": mode = .waitForServers
        case "WAIT_FOR_CLIENTS": mode = .waitForClients
        default:
            return .error(PGError(SQLState.protocolViolation, "invalid command 'SHUTDOWN \(call.argument!)', use SHOW HELP;"))
        }
        guard call.runtime.shutdown(mode) else { return .error(PGError(SQLState.protocolViolation, "shutdown is not available")) }
        return mode == .immediate ? .silent : .done(tag: "SHUTDOWN")
    }
}
