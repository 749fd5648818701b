// From query text to a command: lookup, SHOW's driver parameters, rights, and PgBouncer's errors for each refusal.
import Testing

@testable import AdminConsole

@Suite("AdminCommands.resolve")
struct AdminResolveTests {
    enum Outcome: Equatable, CustomStringConvertible {
        case run(String, String?)
        case error(String)
        case table([String], [[String?]])

        var description: String {
            switch self {
            case .run(let name, let arg): "run \(name) \(arg ?? "-")"
            case .error(let m): "error \(m)"
            case .table(let c, let r): "table \(c) \(r)"
            }
        }
    }

    static func outcome(_ text: String, _ rights: AdminRights) -> Outcome {
        switch AdminCommands.resolve(text, rights: rights) {
        case .run(let command, let argument): return .run(command.name, argument)
        case .reply(.error(let e)): return .error(e.message)
        case .reply(.table(let t, _)): return .table(t.columns.map(\.name), t.rows)
        case .reply(let other): return .error("unexpected \(other)")
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var rights: AdminRights
        var outcome: Outcome
        var testDescription: String { "\(text.debugDescription) as \(rights)" }
    }

    static func invalid(_ text: String) -> Outcome { .error("invalid command '\(text)', use SHOW HELP;") }

    @Test(arguments: [
        // Each command by its words; SHOW's second word picks the command and is not its argument.
        Case(text: "SHOW POOLS", rights: .stats, outcome: .run("SHOW POOLS", nil)),
        Case(text: "show stats_totals;", rights: .stats, outcome: .run("SHOW STATS_TOTALS", nil)),
        Case(text: "SELECT VERSION", rights: .stats, outcome: .run("SHOW VERSION", nil)),
        Case(text: "PAUSE", rights: .admin, outcome: .run("PAUSE", nil)),
        Case(text: "PAUSE appdb", rights: .admin, outcome: .run("PAUSE", "appdb")),
        Case(text: "KILL_CLIENT 7", rights: .admin, outcome: .run("KILL_CLIENT", "7")),
        Case(text: "SHUTDOWN wait_for_servers", rights: .admin, outcome: .run("SHUTDOWN", "wait_for_servers")),
        Case(text: "SET default_pool_size = 5", rights: .admin, outcome: .run("SET", "default_pool_size=5")),
        // Unknown words, and arguments where a command takes none.
        Case(text: "SHOW NOSUCH", rights: .admin, outcome: invalid("SHOW NOSUCH")),
        Case(text: "SHOW", rights: .admin, outcome: invalid("SHOW")),
        Case(text: "FROB", rights: .admin, outcome: invalid("FROB")),
        Case(text: "RELOAD now", rights: .admin, outcome: invalid("RELOAD now")),
        Case(text: "SHOW POOLS extra", rights: .admin, outcome: invalid("SHOW POOLS extra")),
        Case(text: "SHOW POOLS;;", rights: .admin, outcome: invalid("SHOW POOLS;;")),
        Case(text: "ABCDEFGHIJKLMNOP", rights: .admin, outcome: .error("bad arguments")),
        // Missing required arguments: PgBouncer's own words where it has them.
        Case(text: "DISABLE", rights: .admin, outcome: .error("a database is required")),
        Case(text: "ENABLE;", rights: .admin, outcome: .error("a database is required")),
        Case(text: "KILL_CLIENT", rights: .admin, outcome: .error("invalid client pointer supplied")),
        // Rights: SHOW for stats_users; everything else for admin_users, checked before the argument.
        Case(text: "PAUSE", rights: .stats, outcome: .error("admin access needed")),
        Case(text: "DISABLE", rights: .stats, outcome: .error("admin access needed")),
        Case(text: "SET default_pool_size = 5", rights: .stats, outcome: .error("admin access needed")),
        Case(text: "SHUTDOWN", rights: .stats, outcome: .error("admin access needed")),
        // Driver session parameters: SET is allowed to anyone (and ignored), SHOW answers like PgBouncer.
        Case(text: "SET client_encoding = 'UTF8'", rights: .stats, outcome: .run("SET", "client_encoding=UTF8")),
        Case(text: "SET DateStyle TO ISO", rights: .stats, outcome: .run("SET", "datestyle=ISO")),
        Case(text: "SHOW client_encoding", rights: .stats, outcome: .table(["client_encoding"], [["UTF-8"]])),
        Case(text: "SHOW TimeZone", rights: .stats, outcome: .table(["timezone"], [["GMT"]])),
        Case(text: "show standard_conforming_strings;", rights: .stats, outcome: .table(["standard_conforming_strings"], [["on"]])),
    ])
    func resolves(_ c: Case) {
        #expect(Self.outcome(c.text, c.rights) == c.outcome)
    }

    @Test("every command in the table is reachable by its name, and needs admin unless it is a SHOW")
    func everyCommandReachable() {
        // SET has its own grammar, covered above.
        for command in AdminCommands.all where command.name != "SET" {
            // DRAIN/UNDRAIN NODE take a database and a host:port; CACHE INVALIDATE a kind and a value.
            let argument: String? = command.name.hasSuffix(" NODE") ? "app 10.0.0.2:5433"
                : command.name == "CACHE INVALIDATE" ? "TAG x" : command.argument == .required ? "x" : nil
            let text = [command.name, argument].compactMap { $0 }.joined(separator: " ")
            #expect(Self.outcome(text, .admin) == .run(command.name, argument), "\(command.name)")
            let refused = Self.outcome(text, .stats) == .error("admin access needed")
            #expect(refused == !command.name.hasPrefix("SHOW "), "\(command.name) as stats_users")
        }
    }
}
