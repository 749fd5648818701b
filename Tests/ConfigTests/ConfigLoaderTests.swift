// ConfigLoader.load on whole files: [pgbouncer]/[pgswift] sections, every value kind, and located error reports.
import Foundation
import Testing

@testable import Config

@Suite("ConfigLoader: files and values")
struct ConfigLoaderTests {
    // MARK: Whole files

    static let fullFileBody = """
        ;; a pgbouncer.ini as PgBouncer users write it
        [databases]
        appdb = host=127.0.0.1 port=5432 dbname=app
        * = host=fallback.internal port=6000

        [users]
        alice = pool_mode=transaction pool_size=5

        [SECTION]
        # general settings
        listen_addr = 127.0.0.1, ::1
        listen_port = 6433
        auth_type = md5
        auth_file = /etc/pgbouncer/userlist.txt
        pool_mode = Transaction
        max_client_conn = 500
        default_pool_size = 25
        server_reset_query = DISCARD ALL
        server_idle_timeout = 30s
        query_wait_timeout = 1.5
        client_login_timeout = 100ms
        admin_users = postgres, admin
        log_connections = no
        log_disconnections = On
        max_packet_size = 1MB
        unix_socket_dir = "/var/run/pg sockets"
        """

    @Test("a full file loads under either general section name", arguments: ["pgbouncer", "pgswift", "PgBouncer"])
    func fullFile(section: String) throws {
        let dir = try TempDir()
        let path = try dir.write("pgbouncer.ini", Self.fullFileBody.replacingOccurrences(of: "SECTION", with: section))
        let c = try loadValid(path)

        #expect(c.path == path)
        #expect(c.list("listen_addr") == ["127.0.0.1", "::1"])
        #expect(c.int("listen_port") == 6433)
        #expect(c.string("auth_type") == "md5")
        #expect(c.string("auth_file") == "/etc/pgbouncer/userlist.txt")
        #expect(c.string("pool_mode") == "transaction")
        #expect(c.int("max_client_conn") == 500)
        #expect(c.int("default_pool_size") == 25)
        #expect(c.string("server_reset_query") == "DISCARD ALL")
        #expect(c.seconds("server_idle_timeout") == 30)
        #expect(c.seconds("query_wait_timeout") == 1.5)
        #expect(abs(c.seconds("client_login_timeout") - 0.1) < 1e-9)
        #expect(c.list("admin_users") == ["postgres", "admin"])
        #expect(c.bool("log_connections") == false)
        #expect(c.bool("log_disconnections") == true)
        #expect(c.bytes("max_packet_size") == 1024 * 1024)
        #expect(c.string("unix_socket_dir") == "/var/run/pg sockets")
        // Untouched keys keep their defaults.
        #expect(c.int("listen_backlog") == 128)
        #expect(c.seconds("server_lifetime") == 3600)

        #expect(c.databases.keys.sorted() == ["*", "appdb"])
        #expect(c.databases["appdb"]?.host == "127.0.0.1")
        #expect(c.databases["appdb"]?.port == 5432)
        #expect(c.databases["appdb"]?.dbname == "app")
        #expect(c.users["alice"]?.poolMode == "transaction")
        #expect(c.users["alice"]?.poolSize == 5)

        // Exactly the keys the catalogue marks as accepted only for compatibility are warned about.
        let keysInFile = ["listen_addr", "listen_port", "auth_type", "auth_file", "pool_mode", "max_client_conn", "default_pool_size",
                          "server_reset_query", "server_idle_timeout", "query_wait_timeout", "client_login_timeout",
                          "admin_users", "log_connections", "log_disconnections", "max_packet_size", "unix_socket_dir"]
        for key in keysInFile {
            let spec = try #require(KnownSettings.all.first { $0.name == key })
            let warned = c.warnings.contains { $0.contains(": \(key) is accepted for PgBouncer compatibility") }
            #expect(warned == (spec.support == .acceptedWithWarning), "\(key)")
        }

        // The file's own text is kept next to the typed value, with the line it came from.
        #expect(c.settings["pool_mode"]?.text == "Transaction")
        #expect(c.settings["pool_mode"]?.source == .file(path, line: 15))
    }

    @Test("a file with no general section runs on defaults, with a warning saying so")
    func noGeneralSection() throws {
        let dir = try TempDir()
        let path = try dir.write("db-only.ini", "[databases]\nappdb = host=localhost\n")
        let c = try loadValid(path, environment: ["PGSWIFT_AUTH_TYPE": "trust"])
        #expect(c.int("listen_port") == 6432)
        #expect(c.warnings.contains { $0.contains("no keys in a [pgswift] or [pgbouncer] section") })
        // With the default auth_type (md5) and no auth_file, the same file is refused for that reason.
        let errors = loadErrors(path)
        #expect(errors.map(\.key) == ["auth_type"])
    }

    @Test("a compatibility-only key in a [databases] entry is accepted with a warning naming it")
    func databaseCompatibilityKeyWarns() throws {
        let dir = try TempDir()
        let path = try dir.write("c.ini", "[databases]\nappdb = host=localhost max_db_client_connections=5\n[pgswift]\nauth_type = trust\n")
        let c = try loadValid(path)
        #expect(c.warnings.contains { $0.contains("appdb.max_db_client_connections is accepted for PgBouncer compatibility") })
    }

    @Test("a missing file is reported against its path")
    func missingFile() throws {
        let dir = try TempDir()
        let path = dir.path + "/nope.ini"
        let errors = loadErrors(path)
        #expect(errors.contains(ConfigError(file: path, line: 0, key: nil, message: "cannot read file")))
        #expect(errors.first { $0.message == "cannot read file" }?.description == "\(path): cannot read file")
    }

    @Test("comments, blank lines, CRLF line ends and spacing around '=' are all accepted")
    func lexicalDetails() throws {
        let dir = try TempDir()
        let text = "; comment\r\n# another\r\n\r\n[pgbouncer]\r\n  auth_type=trust  \r\nlisten_port   =   7001\r\nLISTEN_BACKLOG = 64\r\n"
        let path = try dir.write("crlf.ini", text)
        let c = try loadValid(path)
        #expect(c.string("auth_type") == "trust")
        #expect(c.int("listen_port") == 7001)
        #expect(c.settings["listen_port"]?.source == .file(path, line: 6))
        // Keys are case-insensitive.
        #expect(c.int("listen_backlog") == 64)
    }

    // MARK: Value kinds

    struct ValueCase: Sendable, CustomTestStringConvertible {
        var key: String
        var text: String
        var expected: SettingValue
        var testDescription: String { "\(key) = \(text)" }
        init(_ key: String, _ text: String, _ expected: SettingValue) {
            self.key = key
            self.text = text
            self.expected = expected
        }
    }

    static let validValues: [ValueCase] = [
        // Integers, at and inside their bounds.
        ValueCase("listen_port", "1", .integer(1)),
        ValueCase("listen_port", "65535", .integer(65535)),
        ValueCase("max_client_conn", "2147483647", .integer(2_147_483_647)),
        ValueCase("default_pool_size", "0", .integer(0)),
        ValueCase("verbose", "3", .integer(3)),
        // Booleans in every spelling PgBouncer accepts, in any case.
        ValueCase("log_connections", "1", .boolean(true)),
        ValueCase("log_connections", "yes", .boolean(true)),
        ValueCase("log_connections", "on", .boolean(true)),
        ValueCase("log_connections", "true", .boolean(true)),
        ValueCase("log_connections", "YES", .boolean(true)),
        ValueCase("log_connections", "True", .boolean(true)),
        ValueCase("log_connections", "0", .boolean(false)),
        ValueCase("log_connections", "no", .boolean(false)),
        ValueCase("log_connections", "off", .boolean(false)),
        ValueCase("log_connections", "false", .boolean(false)),
        ValueCase("log_connections", "OFF", .boolean(false)),
        ValueCase("log_connections", "No", .boolean(false)),
        // Durations of a seconds key: fractions and unit suffixes.
        ValueCase("server_idle_timeout", "1.5", .seconds(1.5)),
        ValueCase("server_idle_timeout", "30s", .seconds(30)),
        ValueCase("server_idle_timeout", "100ms", .seconds(0.1)),
        ValueCase("server_idle_timeout", "250us", .seconds(0.000_25)),
        ValueCase("server_idle_timeout", "2min", .seconds(120)),
        ValueCase("server_idle_timeout", "1h", .seconds(3600)),
        ValueCase("server_idle_timeout", "1d", .seconds(86400)),
        ValueCase("server_idle_timeout", "0", .seconds(0)),
        // A milliseconds key takes bare numbers in milliseconds.
        ValueCase("tcp_user_timeout", "500", .seconds(0.5)),
        ValueCase("tcp_user_timeout", "2s", .seconds(2)),
        // Sizes.
        ValueCase("max_packet_size", "512", .bytes(512)),
        ValueCase("max_packet_size", "100b", .bytes(100)),
        ValueCase("max_packet_size", "4kB", .bytes(4096)),
        ValueCase("max_packet_size", "2k", .bytes(2048)),
        ValueCase("max_packet_size", "1MB", .bytes(1_048_576)),
        ValueCase("max_packet_size", "1mb", .bytes(1_048_576)),
        ValueCase("max_packet_size", "1GB", .bytes(1_073_741_824)),
        // Choices, case-insensitively, normalised to the catalogue's spelling.
        ValueCase("pool_mode", "Transaction", .string("transaction")),
        ValueCase("pool_mode", "STATEMENT", .string("statement")),
        ValueCase("server_tls_sslmode", "Verify-Full", .string("verify-full")),
        ValueCase("auth_type", "SCRAM-SHA-256", .string("scram-sha-256")),
        // Lists: trimmed, empty items dropped.
        ValueCase("admin_users", "alice, bob ,,carol", .list(["alice", "bob", "carol"])),
        ValueCase("listen_addr", "*", .list(["*"])),
        ValueCase("listen_addr", "", .list([])),
        // Strings, with surrounding double quotes removed.
        ValueCase("server_reset_query", "DISCARD ALL", .string("DISCARD ALL")),
        ValueCase("unix_socket_dir", "\"/tmp/with space\"", .string("/tmp/with space")),
    ]

    @Test("every value kind parses", arguments: validValues)
    func validValue(_ v: ValueCase) throws {
        let dir = try TempDir()
        let path = try dir.write("v.ini", "[pgbouncer]\nauth_file = users.txt\n\(v.key) = \(v.text)\n")
        let c = try loadValid(path)
        let setting = try #require(c.settings[v.key])
        #expect(sameValue(setting.value, v.expected), "got \(setting.value)")
        #expect(setting.source == .file(path, line: 3))
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var key: String
        var text: String
        var message: String
        var testDescription: String { "\(key) = \(text)" }
        init(_ key: String, _ text: String, _ message: String) {
            self.key = key
            self.text = text
            self.message = message
        }
    }

    static let invalidValues: [InvalidCase] = [
        InvalidCase("listen_port", "0", "0 is out of range 1...65535"),
        InvalidCase("listen_port", "65536", "65536 is out of range 1...65535"),
        InvalidCase("listen_port", "64k", "invalid integer \"64k\""),
        InvalidCase("max_client_conn", "0", "0 is out of range 1...2147483647"),
        InvalidCase("max_client_conn", "2147483648", "2147483648 is out of range 1...2147483647"),
        InvalidCase("verbose", "4", "4 is out of range 0...3"),
        InvalidCase("log_connections", "maybe", "invalid boolean \"maybe\" (use 0/1, yes/no, on/off, true/false)"),
        InvalidCase("log_connections", "2", "invalid boolean \"2\" (use 0/1, yes/no, on/off, true/false)"),
        InvalidCase("server_idle_timeout", "-1", "invalid duration \"-1\""),
        InvalidCase("server_idle_timeout", "ten", "invalid duration \"ten\""),
        InvalidCase("server_idle_timeout", "1.5.2s", "invalid duration \"1.5.2s\""),
        InvalidCase("max_packet_size", "2GB", "invalid size \"2GB\""),
        InvalidCase("max_packet_size", "1.5MB", "invalid size \"1.5MB\""),
        InvalidCase("max_packet_size", "-4", "invalid size \"-4\""),
        InvalidCase("pool_mode", "sometimes", "invalid value \"sometimes\" (expected one of: session, transaction, statement)"),
    ]

    @Test("an invalid value names file, line and key", arguments: invalidValues)
    func invalidValue(_ v: InvalidCase) throws {
        let message = v.message
        let dir = try TempDir()
        let path = try dir.write("bad.ini", "[pgbouncer]\nauth_type = trust\n\(v.key) = \(v.text)\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 3, key: v.key, message: message)])
        #expect(errors.first?.description == "\(path):3: \(v.key): \(message)")
    }

    // MARK: Located problems

    @Test("an unknown key is reported as written, with its line")
    func unknownKey() throws {
        let dir = try TempDir()
        let path = try dir.write("u.ini", "[pgswift]\nauth_type = trust\nListen_Prot = 6432\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 3, key: "Listen_Prot", message: "unknown setting")])
        #expect(errors.first?.description == "\(path):3: Listen_Prot: unknown setting")
    }

    @Test("keys in an unknown section are refused; [peers] only warns")
    func badSection() throws {
        let dir = try TempDir()
        let path = try dir.write("s.ini", "[pgbouncer]\nauth_type = trust\n[nosuch]\nfoo = bar\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 4, key: "foo", message: "unknown section [nosuch]")])
        #expect(errors.first?.description == "\(path):4: foo: unknown section [nosuch]")

        let peers = try dir.write("p.ini", "[pgbouncer]\nauth_type = trust\n[peers]\n1 = host=10.0.0.1\n")
        let c = try loadValid(peers)
        #expect(c.warnings.count == 1)
        #expect(c.warnings.first?.contains("\(peers):4") == true)
        #expect(c.warnings.first?.contains("[peers]") == true)
    }

    @Test("an unterminated section header is reported on its line")
    func unterminatedSection() throws {
        let dir = try TempDir()
        let path = try dir.write("h.ini", "[pgbouncer]\nauth_type = trust\n[databases\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 3, key: nil, message: "unterminated section header")])
        #expect(errors.first?.description == "\(path):3: unterminated section header")
    }

    @Test("a key before any section is reported with that key")
    func keyOutsideSection() throws {
        let dir = try TempDir()
        let path = try dir.write("o.ini", "; leading comment\nlisten_port = 6432\n[pgbouncer]\nauth_type = trust\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 2, key: "listen_port", message: "key outside any section")])
        #expect(errors.first?.description == "\(path):2: listen_port: key outside any section")
    }

    @Test("a line without '=' is reported on its line")
    func lineWithoutEquals() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", "[pgbouncer]\nauth_type = trust\nlisten_port 6432\n = 5\n")
        let errors = loadErrors(path)
        #expect(errors == [
            ConfigError(file: path, line: 3, key: nil, message: "expected key = value"),
            ConfigError(file: path, line: 4, key: nil, message: "empty key"),
        ])
        #expect(errors.first?.description == "\(path):3: expected key = value")
    }

    @Test("every problem in one file is reported together")
    func manyProblems() throws {
        let dir = try TempDir()
        let path = try dir.write("many.ini", """
            orphan = 1
            [pgbouncer]
            auth_type = trust
            no_such_key = 1
            listen_port = 99999
            this line has no equals
            log_connections = maybe
            [nosuch]
            foo = bar
            [databases]
            bad = host=x port=0
            [pgbouncer
            """)
        do throws(ConfigErrors) {
            _ = try ConfigLoader.load(path: path)
            Issue.record("expected the file to be rejected")
        } catch {
            let sorted = error.errors.sorted { $0.line < $1.line }
            #expect(sorted == [
                ConfigError(file: path, line: 1, key: "orphan", message: "key outside any section"),
                ConfigError(file: path, line: 4, key: "no_such_key", message: "unknown setting"),
                ConfigError(file: path, line: 5, key: "listen_port", message: "99999 is out of range 1...65535"),
                ConfigError(file: path, line: 6, key: nil, message: "expected key = value"),
                ConfigError(file: path, line: 7, key: "log_connections",
                            message: "invalid boolean \"maybe\" (use 0/1, yes/no, on/off, true/false)"),
                ConfigError(file: path, line: 9, key: "foo", message: "unknown section [nosuch]"),
                ConfigError(file: path, line: 11, key: "bad.port", message: "invalid port \"0\""),
                ConfigError(file: path, line: 12, key: nil, message: "unterminated section header"),
            ])
            // The combined description has one "FILE:LINE: KEY: message" line per problem.
            let lines = error.description.split(separator: "\n").map(String.init)
            #expect(lines.count == 8)
            #expect(lines.contains("\(path):5: listen_port: 99999 is out of range 1...65535"))
            #expect(lines.contains("\(path):11: bad.port: invalid port \"0\""))
        }
    }

    @Test("ConfigError.description formats place, key and message")
    func errorDescription() {
        #expect(ConfigError(file: "a.ini", line: 3, key: "k", message: "m").description == "a.ini:3: k: m")
        #expect(ConfigError(file: "a.ini", line: 3, key: nil, message: "m").description == "a.ini:3: m")
        #expect(ConfigError(file: "a.ini", line: 0, key: "k", message: "m").description == "a.ini: k: m")
        #expect(ConfigError(file: "a.ini", line: 0, key: nil, message: "m").description == "a.ini: m")
    }
}
