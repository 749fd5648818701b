// PAUSE [db] and RESUME [db]: stop handing out servers (queued clients wait), and start again.
import NIOCore
import PGWire

enum PauseCommand: AdminCommand {
    static let name = "PAUSE"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        let loop = call.eventLoop
        if runtime.isPaused { return loop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "already suspended/paused"))) }
        if let db = call.argument {
            if let refusal = AdminTarget.refuse(db, verb: "pause", runtime) { return loop.makeSucceededFuture(refusal) }
            runtime.databases.setPaused(db, true)
            runtime.logger.info("PAUSE \(db) from the admin console")
        } else {
            runtime.setPaused(true)
            runtime.logger.info("PAUSE from the admin console: clients wait for RESUME")
        }
        // Like PgBouncer, answer once no server (of the database) is in use: every client has given its server
        // back (transaction mode) or left (session mode).
        return AdminTarget.waitUntil(runtime, on: loop, reply: .done(tag: "PAUSE")) { s in
            s.info().state == .active && (call.argument == nil || s.pool?.key.database == call.argument)
        }
    }
}

enum ResumeCommand: AdminCommand {
    static let name = "RESUME"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        let loop = call.eventLoop
        if let db = call.argument {
            guard runtime.config.database(named: db) != nil else { return loop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "no such database: \(db)"))) }
            guard runtime.databases.setPaused(db, false) else {
                return loop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "database \(db) is not paused")))
            }
            runtime.logger.info("RESUME \(db) from the admin console")
            return loop.makeSucceededFuture(.done(tag: "RESUME"))
        }
        guard runtime.isPaused else { return loop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "pooler is not paused/suspended"))) }
        runtime.setPaused(false)
        runtime.logger.info("RESUME from the admin console")
        return loop.makeSucceededFuture(.done(tag: "RESUME"))
    }
}
