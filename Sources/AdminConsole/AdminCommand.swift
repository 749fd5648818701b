// The admin console's commands: what each one is called, who may run it, and what it is handed when run.

/// Read-only (stats_users) or everything (admin_users).
public enum AdminRights: Sendable {
    case stats, admin
}

/// Whether a command takes an argument (a database, a client id, a SHUTDOWN mode).
public enum AdminArgument: Sendable {
    case none, optional, required
}

/// One invocation: the running proxy and the argument.
public struct AdminCall: Sendable {
    public let runtime: any AdminRuntime
    public let argument: String?

    public init(runtime: any AdminRuntime, argument: String?) {
        self.runtime = runtime
        self.argument = argument
    }
}

/// A command of the console. Adding one (SHOW NODES, SHOW CACHE, ...) is a new file and a line in `AdminCommands.all`.
public protocol AdminCommand: Sendable {
    /// The words that select it, upper-case: "SHOW POOLS", "PAUSE".
    static var name: String { get }
    static var argument: AdminArgument { get }
    /// SHOW commands are open to stats_users; everything else needs admin_users.
    static var needsAdmin: Bool { get }
    /// PgBouncer's answer when a required argument is missing (otherwise "invalid command").
    static var missingArgument: String? { get }
    /// Throws only when a snapshot could not be taken (the event loops are gone).
    static func run(_ call: AdminCall) async throws -> AdminReply
}

extension AdminCommand {
    public static var argument: AdminArgument { .none }
    public static var needsAdmin: Bool { !name.hasPrefix("SHOW ") }
    public static var missingArgument: String? { nil }
}
