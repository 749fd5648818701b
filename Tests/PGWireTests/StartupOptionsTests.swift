// The startup packet's options parsed as PostgreSQL 15 parses them; every case here was first sent to PostgreSQL itself.
import Testing

@testable import PGWire

@Suite("StartupOptions")
struct StartupOptionsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var options: String
        var settings: [String]?
        var refusal: PGError?
        var testDescription: String { options.debugDescription }

        init(_ options: String, _ settings: [String]) {
            self.options = options
            self.settings = settings
        }

        init(_ options: String, refused refusal: PGError) {
            self.options = options
            self.refusal = refusal
        }
    }

    static func invalid(_ word: String) -> PGError {
        PGError(SQLState.syntaxError, "invalid command-line argument for server process: \(word)", severity: Severity.fatal,
                hint: "Try \"postgres --help\" for more information.")
    }

    static func noValue(_ shown: String) -> PGError {
        PGError(SQLState.syntaxError, "\(shown) requires a value", severity: Severity.fatal)
    }

    static func unsupported(_ word: String) -> PGError {
        PGError(SQLState.featureNotSupported, "unsupported startup option \"\(word)\" (only -c name=value and --name=value)",
                severity: Severity.fatal)
    }

    static let cases: [Case] = [
        Case("", []),
        Case("   ", []),
        // The forms libpq users write.
        Case("-c a=b", ["a=b"]),
        Case("-ca=b", ["a=b"]),
        Case("--a=b", ["a=b"]),
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
        Case("-c datestyle=ISO\\ ", ["datestyle=ISO "]),
        Case("\\-c datestyle=ISO", ["datestyle=ISO"]),
        Case("-c\\ datestyle=ISO", [" datestyle=ISO"]),
        Case("-c =x", ["=x"]),
        Case("-c --x=1", ["__x=1"]),
        Case("-c datestyle=German -c datestyle=ISO", ["datestyle=German", "datestyle=ISO"]),
        Case("--", []),
        Case("-c datestyle=German -- ", ["datestyle=German"]),
        // What PostgreSQL refuses, in its words.
        Case("-c datestyle", refused: noValue("-c datestyle")),
        Case("-c  a", refused: noValue("-c a")),
        Case("-cd", refused: noValue("-c d")),
        Case("--datestyle", refused: noValue("--datestyle")),
        Case("--a-b", refused: noValue("--a-b")),
        Case("-c", refused: invalid("-c")),
        Case("foo", refused: invalid("foo")),
        Case("\\", refused: invalid("")),
        Case("-c datestyle=German foo", refused: invalid("foo")),
        Case("-- datestyle=German", refused: invalid("datestyle=German")),
        Case("-- -c a=b", refused: invalid("-c")),
        Case("-c statement_timeout=1s -", refused: invalid("-")),
        Case("-x", refused: invalid("-x")),
        Case("-x foo", refused: invalid("-x")),
        Case("foo -x", refused: invalid("-x")),
        Case("--datestyle=ISO -x", refused: invalid("-x")),
        // A bad letter inside a word: PostgreSQL names the word before it, or its own program name.
        Case("-xc a=b", refused: invalid("postgres")),
        Case("-c datestyle=ISO -xc d=e", refused: invalid("datestyle=ISO")),
        // Switches PostgreSQL takes that are not settings a pool can carry.
        Case("-e", refused: unsupported("-e")),
        Case("-B 10", refused: unsupported("-B")),
    ]

    @Test(arguments: cases)
    func parse(_ c: Case) {
        do throws(PGError) {
            let settings = try StartupOptions.parse(c.options)
            #expect(c.refusal == nil, "accepted, PostgreSQL refuses with \(c.refusal.map(\.description) ?? "")")
            #expect(settings.map { "\($0.name)=\($0.value)" } == c.settings)
        } catch {
            #expect(error == c.refusal)
        }
    }

    @Test("a word PostgreSQL's split makes empty (a lone backslash) is an argument it refuses")
    func loneBackslash() {
        #expect(StartupOptions.split("-c a=b \\") == ["-c", "a=b", ""])
        #expect(throws: PGError.self) { try StartupOptions.parse("-c a=b \\") }
    }

    @Test("the refusal goes out with PostgreSQL's hint field")
    func hintOnTheWire() {
        #expect(Self.invalid("-x").fields["H"] == "Try \"postgres --help\" for more information.")
        #expect(Self.noValue("-c a").fields["H"] == nil)
    }
}
