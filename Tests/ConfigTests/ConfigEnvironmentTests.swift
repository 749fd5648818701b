// PGSWIFT_<KEY> environment overrides, where each value came from, compatibility warnings, and cross-key checks.
import Foundation
import Testing

@testable import Config

@Suite("ConfigLoader: environment, sources, warnings, cross-checks")
struct ConfigEnvironmentTests {
    // MARK: Environment overrides

    @Test("PGSWIFT_<KEY> wins over the file and is recorded as the source")
    func environmentWins() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", "[pgbouncer]\nauth_type = trust\nlisten_port = 6433\nserver_tls_sslmode = disable\n")
        let env = [
            "PGSWIFT_LISTEN_PORT": "7001",
            "PGSWIFT_SERVER_TLS_SSLMODE": "VERIFY-CA",
            "PGSWIFT_SERVER_IDLE_TIMEOUT": "250ms",
            "PATH": "/usr/bin",  // not ours: ignored
            "PGBOUNCER_LISTEN_PORT": "1",  // not ours: ignored
        ]
        let c = try loadValid(path, environment: env)
        #expect(c.int("listen_port") == 7001)
        #expect(c.string("server_tls_sslmode") == "verify-ca")
        #expect(abs(c.seconds("server_idle_timeout") - 0.25) < 1e-9)
        #expect(c.settings["listen_port"]?.source == .environment("PGSWIFT_LISTEN_PORT"))
        #expect(c.settings["listen_port"]?.text == "7001")
        #expect(c.settings["server_idle_timeout"]?.source == .environment("PGSWIFT_SERVER_IDLE_TIMEOUT"))
        #expect(c.warnings.isEmpty)
    }

    @Test("an invalid environment value is reported under the variable's name")
    func invalidEnvironmentValue() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", "[pgbouncer]\nauth_type = trust\n")
        let errors = loadErrors(path, environment: ["PGSWIFT_MAX_CLIENT_CONN": "lots"])
        #expect(errors == [ConfigError(file: "environment", line: 0, key: "PGSWIFT_MAX_CLIENT_CONN", message: "invalid integer \"lots\"")])
        #expect(errors.first?.description == "environment: PGSWIFT_MAX_CLIENT_CONN: invalid integer \"lots\"")
    }

    @Test("file and environment problems are reported together")
    func fileAndEnvironmentProblems() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", "[pgbouncer]\nauth_type = trust\nlisten_port = x\n")
        let errors = loadErrors(path, environment: ["PGSWIFT_LOG_CONNECTIONS": "sometimes", "PGSWIFT_VERBOSE": "9"])
        #expect(errors.count == 3)
        #expect(errors.contains(ConfigError(file: path, line: 3, key: "listen_port", message: "invalid integer \"x\"")))
        #expect(errors.contains(ConfigError(file: "environment", line: 0, key: "PGSWIFT_LOG_CONNECTIONS",
                                            message: "invalid boolean \"sometimes\" (use 0/1, yes/no, on/off, true/false)")))
        #expect(errors.contains(ConfigError(file: "environment", line: 0, key: "PGSWIFT_VERBOSE", message: "9 is out of range 0...3")))
    }

    @Test("an environment variable naming no setting is a warning naming it, not an error")
    func unknownEnvironmentVariable() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", "[pgbouncer]\nauth_type = trust\n")
        let c = try loadValid(path, environment: ["PGSWIFT_NO_SUCH_KEY": "1"])
        #expect(c.warnings.count == 1)
        #expect(c.warnings.first?.contains("PGSWIFT_NO_SUCH_KEY") == true)
    }

    // MARK: Sources

    @Test("ValueSource records default, file line and environment variable")
    func valueSources() throws {
        let dir = try TempDir()
        let path = try dir.write("s.ini", "[pgswift]\n\nauth_type = trust\nlisten_port = 6500\n")
        let c = try loadValid(path, environment: ["PGSWIFT_DEFAULT_POOL_SIZE": "3"])
        #expect(c.settings["listen_backlog"]?.source == .defaultValue)
        #expect(c.settings["listen_backlog"]?.text == "128")
        #expect(c.settings["auth_type"]?.source == .file(path, line: 3))
        #expect(c.settings["listen_port"]?.source == .file(path, line: 4))
        #expect(c.settings["default_pool_size"]?.source == .environment("PGSWIFT_DEFAULT_POOL_SIZE"))

        #expect(ValueSource.defaultValue.description == "default")
        #expect(ValueSource.file(path, line: 4).description == "\(path):4")
        #expect(ValueSource.environment("PGSWIFT_X").description == "env PGSWIFT_X")
        #expect(ValueSource.runtime.description == "SET")
    }

    @Test("SHOW CONFIG's source column: file:line, environment (which wins over the file), SET, default")
    func origins() throws {
        let dir = try TempDir()
        let path = try dir.write("o.ini", "[pgswift]\nauth_type = trust\n; a comment\nlisten_port = 6500\ndefault_pool_size = 7\n")
        let c = try loadValid(path, environment: ["PGSWIFT_DEFAULT_POOL_SIZE": "3"])
        let set = try c.setting("max_client_conn", to: "50").get()
        let origins = ["auth_type", "listen_port", "default_pool_size", "max_client_conn", "listen_backlog"].map {
            set.settings[$0]?.source.origin
        }
        #expect(origins == ["\(path):2", "\(path):4", "environment", "SET", "default"])
        #expect(set.int("default_pool_size") == 3)
    }

    @Test("setting(_:to:) validates like the file and marks the value as set at run time")
    func runtimeSetting() throws {
        let dir = try TempDir()
        let path = try dir.write("r.ini", "[pgswift]\nauth_type = trust\n")
        let c = try loadValid(path)
        let changed = try c.setting("DEFAULT_POOL_SIZE", to: "7").get()
        #expect(changed.int("default_pool_size") == 7)
        #expect(changed.settings["default_pool_size"]?.source == .runtime)
        #expect(c.int("default_pool_size") == 20)
        func failure(_ r: Result<ProxyConfig, ConfigMessage>) -> ConfigMessage? {
            if case .failure(let m) = r { return m }
            return nil
        }
        #expect(failure(c.setting("default_pool_size", to: "-1")) == ConfigMessage("-1 is out of range 0...2147483647"))
        #expect(failure(c.setting("no_such", to: "1")) == ConfigMessage("unknown setting no_such"))
    }

    // MARK: Compatibility warnings

    @Test("a key accepted only for compatibility warns, naming the key and its place")
    func acceptedWithWarning() throws {
        let dir = try TempDir()
        let path = try dir.write("w.ini", "[pgbouncer]\nauth_type = trust\nserver_round_robin = 1\ndns_max_ttl = 30\n")
        let c = try loadValid(path)
        #expect(c.bool("server_round_robin") == true)
        #expect(c.warnings.count == 2)
        #expect(c.warnings.contains { $0.hasPrefix("\(path):3: ") && $0.contains("server_round_robin") })
        #expect(c.warnings.contains { $0.hasPrefix("\(path):4: ") && $0.contains("dns_max_ttl") })
    }

    @Test("a compatibility key left at its default does not warn; implemented keys never do")
    func noWarningAtDefault() throws {
        let dir = try TempDir()
        let path = try dir.write("w.ini", "[pgbouncer]\nauth_type = trust\nserver_round_robin = 0\nlisten_port = 7000\n")
        #expect(try loadValid(path).warnings.isEmpty)
    }

    @Test("a compatibility key set from the environment warns too, naming the variable and the key")
    func acceptedWithWarningFromEnvironment() throws {
        let dir = try TempDir()
        let path = try dir.write("w.ini", "[pgbouncer]\nauth_type = trust\n")
        let c = try loadValid(path, environment: ["PGSWIFT_SERVER_ROUND_ROBIN": "1"])
        #expect(c.bool("server_round_robin") == true)
        #expect(c.warnings.count == 1)
        #expect(c.warnings.first?.contains("PGSWIFT_SERVER_ROUND_ROBIN") == true)
        #expect(c.warnings.first?.contains("server_round_robin") == true)
    }

    // MARK: Cross-checks

    struct CrossCase: Sendable, CustomTestStringConvertible {
        var body: String
        var line: Int
        var key: String
        var message: String
        var testDescription: String { body.replacingOccurrences(of: "\n", with: "; ") }
    }

    static let crossCases: [CrossCase] = [
        CrossCase(body: "listen_port = 6432\nauth_type = md5\n", line: 3, key: "auth_type",
                  message: "md5 needs auth_file or auth_user/auth_query to find passwords"),
        CrossCase(body: "auth_type = scram-sha-256\n", line: 2, key: "auth_type",
                  message: "scram-sha-256 needs auth_file or auth_user/auth_query to find passwords"),
        CrossCase(body: "auth_type = PLAIN\n", line: 2, key: "auth_type",
                  message: "plain needs auth_file or auth_user/auth_query to find passwords"),
        CrossCase(body: "auth_type = hba\nauth_file = u.txt\n", line: 2, key: "auth_type", message: "hba needs auth_hba_file"),
        CrossCase(body: "auth_type = pam\n", line: 2, key: "auth_type", message: "pam is not supported by pgswift"),
        CrossCase(body: "auth_type = ldap\n", line: 2, key: "auth_type", message: "ldap is not supported by pgswift"),
        CrossCase(body: "auth_type = cert\n", line: 2, key: "auth_type", message: "cert is not supported by pgswift"),
        CrossCase(body: "auth_type = trust\nclient_tls_sslmode = require\nclient_tls_cert_file = c.pem\n", line: 3,
                  key: "client_tls_sslmode", message: "require needs client_tls_key_file and client_tls_cert_file"),
    ]

    @Test("settings that need other settings are refused at the line that set them", arguments: crossCases)
    func crossCheck(_ x: CrossCase) throws {
        let dir = try TempDir()
        let path = try dir.write("x.ini", "[pgbouncer]\n" + x.body)
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: x.line, key: x.key, message: x.message)])
        #expect(errors.first?.description == "\(path):\(x.line): \(x.key): \(x.message)")
    }

    @Test("the default auth_type md5 without auth_file is refused against the file itself")
    func defaultAuthTypeNeedsAuthFile() throws {
        let dir = try TempDir()
        let path = try dir.write("d.ini", "[pgbouncer]\nlisten_port = 6432\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 0, key: "auth_type",
                                       message: "md5 needs auth_file or auth_user/auth_query to find passwords")])
    }

    @Test("cross-checks pass once the needed settings are there")
    func crossChecksSatisfied() throws {
        let dir = try TempDir()
        for body in [
            "auth_type = md5\nauth_file = users.txt\n",
            "auth_type = scram-sha-256\nauth_user = pgswift_auth\n",
            "auth_type = hba\nauth_file = users.txt\nauth_hba_file = hba.conf\n",
            "auth_type = any\n",
            "auth_type = trust\nclient_tls_sslmode = require\nclient_tls_key_file = k.pem\nclient_tls_cert_file = c.pem\n",
        ] {
            let path = try dir.write("ok.ini", "[pgbouncer]\n" + body)
            _ = try loadValid(path)
        }
    }

    @Test("cross-check errors are reported together with the other problems")
    func crossChecksWithOtherErrors() throws {
        let dir = try TempDir()
        let path = try dir.write("x.ini", "[pgbouncer]\nauth_type = md5\nlisten_port = x\n")
        let errors = loadErrors(path)
        #expect(errors == [
            ConfigError(file: path, line: 2, key: "auth_type", message: "md5 needs auth_file or auth_user/auth_query to find passwords"),
            ConfigError(file: path, line: 3, key: "listen_port", message: "invalid integer \"x\""),
        ])
    }
}
