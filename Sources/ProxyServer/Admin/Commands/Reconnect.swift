// RECONNECT [db]: replace the servers of a database (or all) as they come free; WAIT_CLOSE [db] waits for that.
import NIOCore
import PGWire

enum ReconnectCommand: AdminCommand {
    static let name = "RECONNECT"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        if let db = call.argument, let refusal = AdminTarget.refuse(db, verb: "reconnect", runtime) {
            return call.eventLoop.makeSucceededFuture(refusal)
        }
        let db = call.argument
        let pools = runtime.allPools.filter { db == nil || $0.key.database == db }
        for p in pools { p.closeIdle() }
        runtime.logger.info("RECONNECT \(db ?? "(all databases)") from the admin console")
        // Servers in use close when their client gives them back; idle ones went just now.
        return runtime.gather { registry -> [Int] in
            for s in registry.servers.values where db == nil || s.pool?.key.database == db { s.closeNeeded = true }
            return []
        }.map { _ in
            for p in pools { p.closeIdle() }
            return .done(tag: "RECONNECT")
        }
    }
}

enum WaitCloseCommand: AdminCommand {
    static let name = "WAIT_CLOSE"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        if let db = call.argument, let refusal = AdminTarget.refuse(db, verb: "wait in", call.runtime) {
            return call.eventLoop.makeSucceededFuture(refusal)
        }
        let db = call.argument
        return AdminTarget.waitUntil(call.runtime, on: call.eventLoop, reply: .done(tag: "WAIT_CLOSE")) { s in
            s.closeNeeded && (db == nil || s.pool?.key.database == db)
        }
    }
}
