// PgBouncer's console grammar: words, quoting, SET's two forms, one trailing semicolon, and the length limits.
import Testing

@testable import AdminConsole

@Suite("AdminCommandLine")
struct AdminCommandLineTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var parsed: AdminCommandLine.Parsed
        var testDescription: String { text.debugDescription }
    }

    static func command(_ verb: String, _ argument: String? = nil) -> AdminCommandLine.Parsed {
        .command(AdminCommandLine(verb: verb, argument: argument))
    }

    @Test(arguments: [
        // Every command of SHOW HELP, as written.
        Case(text: "SHOW POOLS", parsed: command("SHOW", "POOLS")),
        Case(text: "SHOW HELP", parsed: command("SHOW", "HELP")),
        Case(text: "SHOW STATS_AVERAGES", parsed: command("SHOW", "STATS_AVERAGES")),
        Case(text: "SHOW PREPARED_STATEMENTS", parsed: command("SHOW", "PREPARED_STATEMENTS")),
        Case(text: "RELOAD", parsed: command("RELOAD")),
        Case(text: "PAUSE", parsed: command("PAUSE")),
        Case(text: "PAUSE appdb", parsed: command("PAUSE", "appdb")),
        Case(text: "RESUME appdb", parsed: command("RESUME", "appdb")),
        Case(text: "DISABLE appdb", parsed: command("DISABLE", "appdb")),
        Case(text: "ENABLE appdb", parsed: command("ENABLE", "appdb")),
        Case(text: "RECONNECT", parsed: command("RECONNECT")),
        Case(text: "KILL appdb", parsed: command("KILL", "appdb")),
        Case(text: "KILL_CLIENT 42", parsed: command("KILL_CLIENT", "42")),
        Case(text: "SHUTDOWN WAIT_FOR_CLIENTS", parsed: command("SHUTDOWN", "WAIT_FOR_CLIENTS")),
        Case(text: "WAIT_CLOSE appdb", parsed: command("WAIT_CLOSE", "appdb")),
        // Case: the verb is upper-cased, the argument kept as written (database names are case-sensitive).
        Case(text: "show pools", parsed: command("SHOW", "pools")),
        Case(text: "Pause AppDB", parsed: command("PAUSE", "AppDB")),
        // SELECT is read as SHOW, as PgBouncer does.
        Case(text: "select version", parsed: command("SHOW", "version")),
        // Space anywhere around words, any kind, and at most one semicolon at the end.
        Case(text: "  SHOW\tPOOLS \n", parsed: command("SHOW", "POOLS")),
        Case(text: "SHOW POOLS;", parsed: command("SHOW", "POOLS")),
        Case(text: "SHOW POOLS ; ", parsed: command("SHOW", "POOLS")),
        Case(text: "RELOAD;", parsed: command("RELOAD")),
        Case(text: "SHOW POOLS;;", parsed: .invalid),
        Case(text: "SHOW POOLS; SHOW USERS", parsed: .invalid),
        // Double-quoted identifiers: spaces, case and "" inside; unterminated is not the grammar.
        Case(text: "PAUSE \"My DB\"", parsed: command("PAUSE", "My DB")),
        Case(text: "PAUSE \"a\"\"b\"", parsed: command("PAUSE", "a\"b")),
        Case(text: "PAUSE \"open", parsed: .invalid),
        Case(text: "PAUSE 'appdb'", parsed: .invalid),
        // Extra or malformed words.
        Case(text: "", parsed: .invalid),
        Case(text: ";", parsed: .invalid),
        Case(text: "PAUSE a b", parsed: .invalid),
        Case(text: "SHOW-POOLS", parsed: .invalid),
        Case(text: "PAUSE app-db", parsed: .invalid),
        Case(text: "SHOW pööls", parsed: .invalid),
        // SET key = value, SET key TO value; the key lower-cased, the value as written or single-quoted.
        Case(text: "SET default_pool_size = 10", parsed: command("SET", "default_pool_size=10")),
        Case(text: "set Default_Pool_Size=10;", parsed: command("SET", "default_pool_size=10")),
        Case(text: "SET default_pool_size TO 10", parsed: command("SET", "default_pool_size=10")),
        Case(text: "SET default_pool_size to 10", parsed: command("SET", "default_pool_size=10")),
        Case(text: "SET admin_users = 'a, b'", parsed: command("SET", "admin_users=a, b")),
        Case(text: "SET application_name = 'it''s'", parsed: command("SET", "application_name=it's")),
        Case(text: "SET client_encoding = UTF8", parsed: command("SET", "client_encoding=UTF8")),
        Case(text: "SET", parsed: .invalid),
        Case(text: "SET x", parsed: .invalid),
        Case(text: "SET x =", parsed: .invalid),
        Case(text: "SET x 10", parsed: .invalid),
        Case(text: "SET x TO", parsed: .invalid),
        Case(text: "SET x to10", parsed: .invalid),
        Case(text: "SET x = 10 11", parsed: .invalid),
        Case(text: "SET x = 'open", parsed: .invalid),
        // PgBouncer's buffers: 15 bytes for the command word, 63 for its argument; SET is exempt.
        Case(text: "ABCDEFGHIJKLMNO", parsed: command("ABCDEFGHIJKLMNO")),
        Case(text: "ABCDEFGHIJKLMNOP", parsed: .badArguments),
        Case(text: "PAUSE " + String(repeating: "d", count: 63), parsed: command("PAUSE", String(repeating: "d", count: 63))),
        Case(text: "PAUSE " + String(repeating: "d", count: 64), parsed: .badArguments),
        Case(text: "SET application_name = " + String(repeating: "v", count: 80),
             parsed: command("SET", "application_name=" + String(repeating: "v", count: 80))),
    ])
    func parses(_ c: Case) {
        #expect(AdminCommandLine.parse(c.text) == c.parsed)
    }

    @Test("SET's key and value split at the first =, so a value may hold one")
    func settingSplit() {
        let line = AdminCommandLine(verb: "SET", argument: "application_name=a=b")
        #expect(line.setting?.key == "application_name")
        #expect(line.setting?.value == "a=b")
        #expect(AdminCommandLine(verb: "PAUSE", argument: "a=b").setting == nil)
    }
}
