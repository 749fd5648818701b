// The read/write splitting settings: replica_max_lag's two kinds of limit, and an entry's own values over the global.
import Testing

@testable import Config

@Suite("Routing settings")
struct RoutingSettingsTests {
    @Test(arguments: [
        ("0", nil, nil), ("1MB", 1 << 20, nil), ("64kB", 64 << 10, nil), ("500ms", nil, 0.5), ("2s", nil, 2.0), ("10min", nil, 600.0),
    ] as [(String, Int?, Double?)])
    func lagLimits(_ text: String, _ bytes: Int?, _ seconds: Double?) throws {
        guard case .success(.lag(let b, let s)) = SettingValue.parse(text, as: .lag) else {
            Issue.record("\(text) refused")
            return
        }
        #expect(b == bytes && s == seconds)
    }

    /// A bare number could be bytes or time, and `1m` a megabyte or a minute: both refused.
    @Test(arguments: ["100", "1m", "fast", "-1MB"])
    func ambiguousLagsAreRefused(_ text: String) {
        guard case .failure(let m) = SettingValue.parse(text, as: .lag) else {
            Issue.record("\(text) accepted")
            return
        }
        #expect(m.text.contains("a size such as 1MB or a time such as 500ms"))
    }

    @Test func anEntryOverridesTheGlobalValue() throws {
        let dir = try TempDir()
        let path = try dir.write("c.ini", """
            [databases]
            split = host=a,b read_write_split=1 primary_reads=never replica_max_lag=500ms
            plain = host=a,b
            [pgswift]
            auth_type = trust
            read_write_split = 0
            primary_reads = fallback
            """)
        let c = try loadValid(path)
        let split = try #require(c.databases["split"]), plain = try #require(c.databases["plain"])
        #expect(c.routing("read_write_split", for: split) == .boolean(true))
        #expect(c.routing("read_write_split", for: plain) == .boolean(false))
        #expect(c.routing("primary_reads", for: split) == .string("never"))
        #expect(c.routing("replica_max_lag", for: split) == .lag(bytes: nil, seconds: 0.5))
        #expect(c.routing("read_your_writes", for: plain) == .string("lsn"))
    }

    @Test func aBadEntryValueNamesTheEntryAndKey() throws {
        let dir = try TempDir()
        let found = loadErrors(try dir.write("c.ini", "[databases]\nappdb = host=a,b read_write_strategy=eager\n[pgswift]\nauth_type = trust\n"))
        #expect(found.count == 1)
        #expect(found.first?.key == "appdb.read_write_strategy" && found.first?.line == 2)
        #expect(found.first?.message.contains("expected one of: conservative, aggressive") == true)
    }
}
