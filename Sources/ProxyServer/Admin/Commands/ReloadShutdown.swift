// RELOAD (reread the config, as SIGHUP) and SHUTDOWN [WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS].
import NIOCore
import PGWire

enum ReloadCommand: AdminCommand {
    static let name = "RELOAD"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let ok = call.runtime.control?.reload() ?? false
        return call.eventLoop.makeSucceededFuture(ok ? .done(tag: "RELOAD") : .error(PGError(SQLState.configFileError, "RELOAD failed, see logs for additional details")))
    }
}

enum ShutdownCommand: AdminCommand {
    static let name = "SHUTDOWN"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let mode: ShutdownMode
        switch call.argument?.uppercased() {
        case nil: mode = .immediate
        case "WAIT_FOR_SERVERS": mode = .waitForServers
        case "WAIT_FOR_CLIENTS": mode = .waitForClients
        default:
            return call.eventLoop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "invalid command 'SHUTDOWN \(call.argument!)', use SHOW HELP;")))
        }
        guard let control = call.runtime.control else {
            return call.eventLoop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "shutdown is not available")))
        }
        control.shutdown(mode)
        return call.eventLoop.makeSucceededFuture(mode == .immediate ? .silent : .done(tag: "SHUTDOWN"))
    }
}
