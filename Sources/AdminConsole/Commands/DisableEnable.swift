// DISABLE db and ENABLE db: refuse new logins to a database (existing clients carry on), and allow them again.
import PGWire

enum DisableCommand: AdminCommand {
    static let name = "DISABLE"
    static let argument = AdminArgument.required
    static let missingArgument: String? = "a database is required"

    static func run(_ call: AdminCall) -> AdminReply { setDisabled(call, true) }
}

enum EnableCommand: AdminCommand {
    static let name = "ENABLE"
    static let argument = AdminArgument.required
    static let missingArgument: String? = "a database is required"

    static func run(_ call: AdminCall) -> AdminReply { setDisabled(call, false) }
}

private func setDisabled(_ call: AdminCall, _ on: Bool) -> AdminReply {
    let db = call.argument!
    let verb = on ? "disable" : "enable"
    if let refusal = AdminTarget.refuse(db, verb: verb, call.runtime) { return refusal }
    call.runtime.setDisabled(on, database: db)
    call.runtime.logger.info("\(verb.uppercased()) \(db) from the admin console\(on ? ": new logins are refused" : "")")
    return .done(tag: verb.uppercased())
}
