// SHOW HELP: the list of commands, as a NOTICE like PgBouncer's.

enum ShowHelp: AdminCommand {
    static let name = "SHOW HELP"

    static func run(_ call: AdminCall) -> AdminReply {
        let lines = [
            "SHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION",
            "SHOW LISTS|MEM|STATE|PREPARED_STATEMENTS",
            "SHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS",
            "SHOW SLA|TUNING|NODES|CACHE|CACHE_CANDIDATES",
            "SET key = arg",
            "RELOAD",
            "PAUSE [<db>]",
            "RESUME [<db>]",
            "DISABLE <db>",
            "ENABLE <db>",
            "RECONNECT [<db>]",
            "DRAIN NODE <db> <host:port>",
            "UNDRAIN NODE <db> <host:port>",
            "CACHE CLEAR",
            "CACHE INVALIDATE TABLE|TAG|FINGERPRINT|PATTERN <value>",
            "KILL [<db>]",
            "KILL_CLIENT <client_id>",
            "SHUTDOWN",
            "SHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS",
            "WAIT_CLOSE [<db>]",
        ]
        let detail = lines.map { "\n\t" + $0 }.joined()
        return .notice(message: "Console usage", detail: detail, tag: "SHOW")
    }
}
