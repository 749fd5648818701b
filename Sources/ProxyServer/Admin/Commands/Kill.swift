// KILL [db] (drop every client and server of a database, or of all, and leave them paused) and KILL_CLIENT id.
import NIOCore
import PGWire

enum KillCommand: AdminCommand {
    static let name = "KILL"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        if runtime.isPaused { return call.eventLoop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "already suspended/paused"))) }
        let targets: [String]
        if let db = call.argument {
            if let refusal = AdminTarget.refuse(db, verb: "kill", runtime) { return call.eventLoop.makeSucceededFuture(refusal) }
            targets = [db]
        } else {
            targets = Array(runtime.config.databases.keys)
        }
        // Paused first, so that no client gets a fresh server between the closing and the answer.
        for db in targets { runtime.databases.setPaused(db, true) }
        runtime.logger.info("KILL \(call.argument ?? "(all databases)") from the admin console")
        let chosen = Set(targets)
        return runtime.gather { registry -> [Int] in
            let clients = registry.clients.values.filter { $0.statsKey.map { chosen.contains($0.database) } ?? false }
            for c in clients { c.sendFatal(PGError(SQLState.protocolViolation, "database removed", severity: Severity.fatal)) }
            let servers = registry.servers.values.filter { $0.pool.map { chosen.contains($0.key.database) } ?? false }
            for s in servers { s.close() }
            return clients.map(\.waiterID)
        }.map { _ in .done(tag: "KILL") }
    }
}

enum KillClientCommand: AdminCommand {
    static let name = "KILL_CLIENT"
    static let argument = AdminArgument.required
    static let missingArgument: String? = "invalid client pointer supplied"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        guard let id = Int(call.argument!) else {
            return call.eventLoop.makeSucceededFuture(.error(PGError(SQLState.protocolViolation, "invalid client pointer supplied")))
        }
        return call.runtime.gather { registry -> [Int] in
            guard let client = registry.clients[id] else { return [] }
            client.sendFatal(PGError(SQLState.protocolViolation, "admin forced disconnect", severity: Severity.fatal))
            return [id]
        }.map { found in found.isEmpty ? .error(PGError(SQLState.protocolViolation, "client not found")) : .done(tag: "KILL_CLIENT") }
    }
}
