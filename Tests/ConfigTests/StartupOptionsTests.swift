// The startup packet's options parsed as PostgreSQL 15 parses them; every case here was first sent to PostgreSQL itself.
import Testing

@testable import Config

@Suite("StartupOptions")
struct StartupOptionsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var options: String
        var settings: [String]?
        var refusal: (String, String)?
        var testDescription: String { options.debugDescription }

        init(_ options: String, _ settings: [String]) {
            self.options = options
            self.settings = settings
        }

        init(_ options: String, refused sqlState: String, _ message: String) {
            self.options = options
            self.refusal = (sqlState, message)
        }
    }

    static let cases: [Case] = [
        Case("", []),
        Case("   ", []),
        Case("-c datestyle=German,\\ YMD", ["datestyle=German, YMD"]),
        Case("-c   datestyle=German    -c search_path=a,b", ["datestyle=German", "search_path=a,b"]),
        Case("\t-c\tdatestyle=German\r\n", ["datestyle=German"]),
        Case("-cdatestyle=German", ["datestyle=German"]),
        Case("--datestyle=German", ["datestyle=German"]),
        Case("--statement-timeout=5s", ["statement_timeout=5s"]),
        Case("-c statement-timeout=6s", ["statement_timeout=6s"]),
        Case("-c search_path=a=b", ["search_path=a=b"]),
        Case("-c search_path=a\\\\b", ["search_path=a\\b"]),
        Case("-c search_path=x\\", ["search_path=x"]),
        Case("\\-c datestyle=ISO", ["datestyle=ISO"]),
        Case("-c\\ datestyle=ISO", [" datestyle=ISO"]),
        Case("-c =x", ["=x"]),
        Case("-c --x=1", ["__x=1"]),
        Case("-c datestyle=German -c datestyle=ISO", ["datestyle=German", "datestyle=ISO"]),
        Case("--", []),
        Case("-c datestyle", refused: "42601", "-c datestyle requires a value"),
        Case("-c  a", refused: "42601", "-c a requires a value"),
        Case("-cd", refused: "42601", "-c d requires a value"),
        Case("--datestyle", refused: "42601", "--datestyle requires a value"),
        Case("--a-b", refused: "42601", "--a-b requires a value"),
        Case("-c", refused: "42601", "invalid command-line argument for server process: -c"),
        Case("foo", refused: "42601", "invalid command-line argument for server process: foo"),
        Case("-c datestyle=German foo", refused: "42601", "invalid command-line argument for server process: foo"),
        Case("-- datestyle=German", refused: "42601", "invalid command-line argument for server process: datestyle=German"),
        Case("-c statement_timeout=1s -", refused: "42601", "invalid command-line argument for server process: -"),
        Case("-x", refused: "42601", "invalid command-line argument for server process: -x"),
        // Switches PostgreSQL takes that are not settings a pool can carry.
        Case("-e", refused: "0A000", "unsupported startup option \"-e\" (only -c name=value and --name=value)"),
        Case("-B 10", refused: "0A000", "unsupported startup option \"-B\" (only -c name=value and --name=value)"),
    ]

    @Test(arguments: cases)
    func parse(_ c: Case) {
        switch StartupOptions.parse(c.options) {
        case .success(let settings):
            #expect(c.refusal == nil, "accepted, PostgreSQL refuses with \(c.refusal.map { "\($0.0) \($0.1)" } ?? "")")
            #expect(settings.map { "\($0.name)=\($0.value)" } == c.settings)
        case .failure(let r):
            #expect(c.refusal.map { [$0.0, $0.1] } == [r.sqlState, r.message])
        }
    }

    @Test("a word PostgreSQL's split makes empty (a lone backslash) is an argument it refuses")
    func loneBackslash() {
        #expect(StartupOptions.split("-c a=b \\") == ["-c", "a=b", ""])
        #expect((try? StartupOptions.parse("\\").get()) == nil)
    }
}
