// DRAIN NODE db host:port / UNDRAIN NODE db host:port (pgswift's own): no new work on one host of an entry's list,
// while what runs there finishes; and back again.
import PGWire

enum DrainNodeCommand: AdminCommand {
    static let name = "DRAIN NODE"
    static let argument = AdminArgument.required

    static func run(_ call: AdminCall) async throws -> AdminReply {
        try await DrainNodes.set(true, call)
    }
}

enum UndrainNodeCommand: AdminCommand {
    static let name = "UNDRAIN NODE"
    static let argument = AdminArgument.required

    static func run(_ call: AdminCall) async throws -> AdminReply {
        try await DrainNodes.set(false, call)
    }
}

enum DrainNodes {
    static func set(_ on: Bool, _ call: AdminCall) async throws -> AdminReply {
        let verb = on ? "DRAIN" : "UNDRAIN"
        let parts = (call.argument ?? "").split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, let colon = parts[1].lastIndex(of: ":"), let port = Int(parts[1][parts[1].index(after: colon)...]) else {
            return .error(PGError(SQLState.protocolViolation, "\(verb) NODE needs a database and a host:port, as SHOW NODES lists them"))
        }
        let database = parts[0]
        var host = String(parts[1][..<colon])
        // [::1]:5432, as IPv6 addresses are usually written with a port.
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard try await call.runtime.setDrained(on, database: database, host: host, port: port) else {
            return .error(PGError(SQLState.protocolViolation, "no node \(host):\(port) in database \(database) (SHOW NODES lists them)"))
        }
        call.runtime.logger.info("\(verb) NODE \(database) \(host):\(port) from the admin console")
        return .done(tag: "\(verb) NODE")
    }
}
