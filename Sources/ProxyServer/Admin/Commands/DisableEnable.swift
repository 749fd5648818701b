// DISABLE db and ENABLE db: refuse new logins to a database (existing clients carry on), and allow them again.
import NIOCore
import PGWire

enum DisableCommand: AdminCommand {
    static let name = "DISABLE"
    static let argument = AdminArgument.required
    static let missingArgument: String? = "a database is required"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let db = call.argument!
        if let refusal = AdminTarget.refuse(db, verb: "disable", call.runtime) { return call.eventLoop.makeSucceededFuture(refusal) }
        call.runtime.databases.setDisabled(db, true)
        call.runtime.logger.info("DISABLE \(db) from the admin console: new logins are refused")
        return call.eventLoop.makeSucceededFuture(.done(tag: "DISABLE"))
    }
}

enum EnableCommand: AdminCommand {
    static let name = "ENABLE"
    static let argument = AdminArgument.required
    static let missingArgument: String? = "a database is required"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let db = call.argument!
        if let refusal = AdminTarget.refuse(db, verb: "enable", call.runtime) { return call.eventLoop.makeSucceededFuture(refusal) }
        call.runtime.databases.setDisabled(db, false)
        call.runtime.logger.info("ENABLE \(db) from the admin console")
        return call.eventLoop.makeSucceededFuture(.done(tag: "ENABLE"))
    }
}
