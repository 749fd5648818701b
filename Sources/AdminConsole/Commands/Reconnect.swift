// RECONNECT [db]: replace the servers of a database (or all) as they come free; WAIT_CLOSE [db] waits for that.

enum ReconnectCommand: AdminCommand {
    static let name = "RECONNECT"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let runtime = call.runtime
        if let db = call.argument, let refusal = AdminTarget.refuse(db, verb: "reconnect", runtime) { return refusal }
        runtime.logger.info("RECONNECT \(call.argument ?? "(all databases)") from the admin console")
        try await runtime.reconnect(database: call.argument)
        return .done(tag: "RECONNECT")
    }
}

enum WaitCloseCommand: AdminCommand {
    static let name = "WAIT_CLOSE"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let db = call.argument
        if let db, let refusal = AdminTarget.refuse(db, verb: "wait in", call.runtime) { return refusal }
        try await AdminTarget.waitUntilNone(call.runtime) { $0.closeNeeded && AdminTarget.server($0, of: db) }
        return .done(tag: "WAIT_CLOSE")
    }
}
