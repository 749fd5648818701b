// KILL [db] (drop every client and server of a database, or of all, and leave them paused) and KILL_CLIENT id.
import PGWire

enum KillCommand: AdminCommand {
    static let name = "KILL"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let runtime = call.runtime
        if runtime.isPaused { return .error(PGError(SQLState.protocolViolation, "already suspended/paused")) }
        let targets: [String]
        if let db = call.argument {
            if let refusal = AdminTarget.refuse(db, verb: "kill", runtime) { return refusal }
            targets = [db]
        } else {
            targets = Array(runtime.config.databases.keys)
        }
        // Paused first, so that no client gets a fresh server between the closing and the answer.
        for db in targets { _ = runtime.setPaused(true, database: db) }
        runtime.logger.info("KILL \(call.argument ?? "(all databases)") from the admin console")
        try await runtime.kill(databases: Set(targets), reason: PGError(SQLState.protocolViolation, "database removed", severity: Severity.fatal))
        return .done(tag: "KILL")
    }
}

enum KillClientCommand: AdminCommand {
    static let name = "KILL_CLIENT"
    static let argument = AdminArgument.required
    static let missingArgument: String? = "invalid client pointer supplied"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        guard let id = Int(call.argument!) else { return .error(PGError(SQLState.protocolViolation, "invalid client pointer supplied")) }
        let found = try await call.runtime.killClient(id: id, reason: PGError(SQLState.protocolViolation, "admin forced disconnect", severity: Severity.fatal))
        return found ? .done(tag: "KILL_CLIENT") : .error(PGError(SQLState.protocolViolation, "client not found"))
    }
}
