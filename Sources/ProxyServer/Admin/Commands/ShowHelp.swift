// SHOW HELP: the list of commands, as a NOTICE like PgBouncer's.
import NIOCore

enum ShowHelp: AdminCommand {
    static let name = "SHOW HELP"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let lines = [
            "SHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION",
            "SHOW LISTS|STATE|PREPARED_STATEMENTS",
            "PAUSE",
            "RESUME",
            "RELOAD",
            "SHUTDOWN",
            "SHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS",
        ]
        let detail = lines.map { "\n\t" + $0 }.joined()
        return call.eventLoop.makeSucceededFuture(.notice(message: "Console usage", detail: detail, tag: "SHOW"))
    }
}
