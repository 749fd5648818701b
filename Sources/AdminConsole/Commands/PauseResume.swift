// PAUSE [db] and RESUME [db]: stop handing out servers (queued clients wait), and start again.
import PGWire

enum PauseCommand: AdminCommand {
    static let name = "PAUSE"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let runtime = call.runtime
        if runtime.isPaused { return .error(PGError(SQLState.protocolViolation, "already suspended/paused")) }
        let db = call.argument
        if let db {
            if let refusal = AdminTarget.refuse(db, verb: "pause", runtime) { return refusal }
            _ = runtime.setPaused(true, database: db)
            runtime.logger.info("PAUSE \(db) from the admin console")
        } else {
            runtime.setPaused(true)
            runtime.logger.info("PAUSE from the admin console: clients wait for RESUME")
        }
        // Like PgBouncer, answer once no server (of the database) is in use: every client has given its server
        // back (transaction mode) or left (session mode).
        try await AdminTarget.waitUntilNone(runtime) { $0.state == .active && AdminTarget.server($0, of: db) }
        return .done(tag: "PAUSE")
    }
}

enum ResumeCommand: AdminCommand {
    static let name = "RESUME"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> AdminReply {
        let runtime = call.runtime
        if let db = call.argument {
            guard runtime.config.database(named: db) != nil else { return .error(PGError(SQLState.protocolViolation, "no such database: \(db)")) }
            guard runtime.setPaused(false, database: db) else {
                return .error(PGError(SQLState.protocolViolation, "database \(db) is not paused"))
            }
            runtime.logger.info("RESUME \(db) from the admin console")
            return .done(tag: "RESUME")
        }
        guard runtime.isPaused else { return .error(PGError(SQLState.protocolViolation, "pooler is not paused/suspended")) }
        runtime.setPaused(false)
        runtime.logger.info("RESUME from the admin console")
        return .done(tag: "RESUME")
    }
}
