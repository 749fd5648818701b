// HbaFile.parse of pg_hba.conf-style text and method(database:user:addressBytes:tls:) rule matching.
import Foundation
import Testing

@testable import Config

@Suite("HbaFile")
struct HbaFileTests {
    static let text = """
        # TYPE    DATABASE  USER        ADDRESS                  METHOD
        local     all       postgres                             peer
        local     all       all                                  md5
        host      all       all         127.0.0.1/32             trust
        host      app       alice,bob   10.0.0.0/8               scram-sha-256
        hostssl   all       all         192.168.0.0  255.255.0.0 md5
        hostnossl all       all         192.168.0.0/16           reject
        host      all       all         ::1/128                  trust
        host      all       all         2001:db8::/32            password   # trailing comment
        hostssl   all       all         172.16.0.0/12            cert clientcert=verify-full
        host      sameuser  all         0.0.0.0/0                md5
        host      all       all         all                      reject
        """

    static func addr(_ s: String) -> [UInt8] {
        guard let b = HbaFile.parseAddress(s) else { preconditionFailure("bad test address \(s)") }
        return b
    }

    @Test("rules are parsed with their networks and lines")
    func parsesRules() throws {
        let hba = try HbaFile.parse(Self.text, file: "hba.conf")
        #expect(hba.rules.count == 11)
        #expect(hba.rules.map(\.line) == Array(2...12))
        #expect(hba.rules.map(\.method) == ["peer", "md5", "trust", "scram-sha-256", "md5", "reject", "trust", "password", "cert", "md5", "reject"])
        #expect(hba.rules[0].type == .local)
        #expect(hba.rules[0].network == nil)
        #expect(hba.rules[3].users == ["alice", "bob"])
        #expect(hba.rules[3].network?.bytes == [10, 0, 0, 0])
        #expect(hba.rules[3].network?.prefix == 8)
        // Address + mask form: the mask's bits give the prefix.
        #expect(hba.rules[4].type == .hostssl)
        #expect(hba.rules[4].network?.bytes == [192, 168, 0, 0])
        #expect(hba.rules[4].network?.prefix == 16)
        #expect(hba.rules[6].network?.bytes.count == 16)
        #expect(hba.rules[6].network?.prefix == 128)
        #expect(hba.rules[10].network == nil)
    }

    struct MatchCase: Sendable, CustomTestStringConvertible {
        var database: String
        var user: String
        var address: String?
        var tls: Bool
        var expected: String?
        var testDescription: String { "\(user)@\(database) from \(address ?? "unix socket")\(tls ? " over TLS" : "") → \(expected ?? "nil")" }
        init(_ database: String, _ user: String, _ address: String?, tls: Bool = false, _ expected: String?) {
            self.database = database
            self.user = user
            self.address = address
            self.tls = tls
            self.expected = expected
        }
    }

    static let matchCases: [MatchCase] = [
        // local rules match only Unix-socket clients; the first matching line wins.
        MatchCase("app", "postgres", nil, "peer"),
        MatchCase("app", "alice", nil, "md5"),
        // host rules: 127.0.0.1/32 comes before 10/8 and catches loopback only.
        MatchCase("app", "alice", "127.0.0.1", "trust"),
        MatchCase("app", "alice", "127.0.0.2", "reject"),
        MatchCase("app", "alice", "10.1.2.3", "scram-sha-256"),
        MatchCase("app", "bob", "10.255.255.255", "scram-sha-256"),
        MatchCase("other", "alice", "10.1.2.3", "reject"),
        MatchCase("app", "carol", "10.1.2.3", "reject"),
        MatchCase("app", "alice", "11.0.0.1", "reject"),
        // hostssl / hostnossl depend on TLS.
        MatchCase("db", "u", "192.168.5.5", tls: true, "md5"),
        MatchCase("db", "u", "192.168.5.5", tls: false, "reject"),
        MatchCase("db", "u", "192.169.0.1", tls: true, "reject"),
        MatchCase("db", "u", "172.31.255.1", tls: true, "cert"),
        MatchCase("db", "u", "172.32.0.1", tls: true, "reject"),
        MatchCase("db", "u", "172.16.0.1", tls: false, "reject"),
        // IPv6 networks match IPv6 addresses only.
        MatchCase("db", "u", "::1", "trust"),
        MatchCase("db", "u", "::2", "reject"),
        MatchCase("db", "u", "2001:db8:1::5", "password"),
        MatchCase("db", "u", "2001:db9::1", "reject"),
        // sameuser: the database named like the user.
        MatchCase("bob", "bob", "8.8.8.8", "md5"),
        MatchCase("bob", "alice", "8.8.8.8", "reject"),
    ]

    @Test("the first matching rule gives the method", arguments: matchCases)
    func matches(_ m: MatchCase) throws {
        let hba = try HbaFile.parse(Self.text, file: "hba.conf")
        #expect(hba.method(database: m.database, user: m.user, addressBytes: m.address.map(Self.addr), tls: m.tls) == m.expected)
    }

    @Test("no matching rule gives nil")
    func noMatch() throws {
        let hba = try HbaFile.parse("host app alice 10.0.0.0/8 md5\nhostssl all all 0.0.0.0/0 md5\n", file: "h")
        #expect(hba.method(database: "app", user: "alice", addressBytes: [11, 0, 0, 1], tls: false) == nil)
        #expect(hba.method(database: "app", user: "alice", addressBytes: nil, tls: false) == nil)
        #expect(hba.method(database: "app", user: "bob", addressBytes: [10, 0, 0, 1], tls: false) == nil)
        #expect(hba.method(database: "app", user: "alice", addressBytes: Self.addr("::1"), tls: false) == nil)
        #expect(hba.method(database: "app", user: "bob", addressBytes: [10, 0, 0, 1], tls: true) == "md5")
        #expect(try HbaFile.parse("# nothing\n\n", file: "h").method(database: "a", user: "b", addressBytes: nil, tls: false) == nil)
    }

    @Test("prefix lengths that do not fall on a byte boundary")
    func oddPrefixes() throws {
        let hba = try HbaFile.parse("host all all 10.0.0.128/25 trust\nhost all all 0.0.0.0/0 md5\n", file: "h")
        #expect(hba.method(database: "d", user: "u", addressBytes: [10, 0, 0, 200], tls: false) == "trust")
        #expect(hba.method(database: "d", user: "u", addressBytes: [10, 0, 0, 127], tls: false) == "md5")
        let masked = try HbaFile.parse("host all all 10.0.0.0 255.255.240.0 trust\n", file: "h")
        #expect(masked.rules.first?.network?.prefix == 20)
        #expect(masked.method(database: "d", user: "u", addressBytes: [10, 0, 15, 1], tls: false) == "trust")
        #expect(masked.method(database: "d", user: "u", addressBytes: [10, 0, 16, 1], tls: false) == nil)
    }

    @Test("CRLF line ends are accepted")
    func crlf() throws {
        let hba = try HbaFile.parse("local all all trust\r\nhost all all 10.0.0.0/8 md5\r\n", file: "h")
        #expect(hba.rules.count == 2)
        #expect(hba.rules.map(\.method) == ["trust", "md5"])
        #expect(hba.method(database: "d", user: "u", addressBytes: [10, 1, 1, 1], tls: false) == "md5")
    }

    @Test("bad lines are all reported with their line numbers")
    func badLines() {
        let text = """
            local all all trust
            host all all 10.0.0.0/8 kerberos
            remote all all 10.0.0.0/8 md5
            host all all 10.0.0.300/8 md5
            host all all md5
            local all all
            host all all 10.0.0.0/33 md5
            """
        do throws(ConfigErrors) {
            _ = try HbaFile.parse(text, file: "/etc/pgswift/hba.conf")
            Issue.record("expected bad lines to be rejected")
        } catch {
            #expect(error.errors == [
                ConfigError(file: "/etc/pgswift/hba.conf", line: 2, key: nil, message: "unsupported method \"kerberos\""),
                ConfigError(file: "/etc/pgswift/hba.conf", line: 3, key: nil, message: "unknown connection type \"remote\""),
                ConfigError(file: "/etc/pgswift/hba.conf", line: 4, key: nil, message: "invalid address \"10.0.0.300/8\""),
                ConfigError(file: "/etc/pgswift/hba.conf", line: 5, key: nil, message: "expected: type database user address method"),
                ConfigError(file: "/etc/pgswift/hba.conf", line: 6, key: nil, message: "expected: local database user method"),
                ConfigError(file: "/etc/pgswift/hba.conf", line: 7, key: nil, message: "invalid address \"10.0.0.0/33\""),
            ])
            #expect(error.errors.first?.description == "/etc/pgswift/hba.conf:2: unsupported method \"kerberos\"")
        }
    }
}
