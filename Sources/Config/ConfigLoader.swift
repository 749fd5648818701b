// Builds a ProxyConfig from a pgbouncer.ini-style file and PGSWIFT_<KEY> environment overrides.
import Foundation

public enum ConfigLoader {
    static let generalSections: Set<String> = ["pgbouncer", "pgswift"]
    /// Environment variables that set a setting under another name: the setting, and the unit the number is in.
    static let environmentAliases: [String: (String, String?)] = [
        "CACHE_TTL_SECONDS": ("cache_default_ttl", "s"),
        "CACHE_MEMORY_SIZE_MB": ("cache_l1_max_bytes", "MB"),
        "CACHE_REDIS_URL": ("cache_redis_url", nil),
        "CACHE_MEMCACHED_HOSTS": ("cache_memcached_servers", nil),
    ]

    /// Loads and validates; throws every problem found, each naming file, line and key.
    public static func load(path: String, environment: [String: String] = [:]) throws(ConfigErrors) -> ProxyConfig {
        var errors: [ConfigError] = []
        var warnings: [String] = []
        let entries = IniReader.read(path: path, errors: &errors)

        var specs: [String: SettingSpec] = [:]
        for s in KnownSettings.all { specs[s.name] = s }
        var settings: [String: ProxyConfig.Setting] = [:]
        for s in KnownSettings.all {
            let v: SettingValue
            switch SettingValue.parse(s.defaultValue, as: s.kind) {
            case .success(let parsed): v = parsed
            case .failure:
                // A default that does not parse is a bug in the catalogue, not in the user's file.
                preconditionFailure("default of \(s.name) does not parse")
            }
            settings[s.name] = .init(spec: s, text: s.defaultValue, value: v, source: .defaultValue)
        }

        var databases: [String: DatabaseEntry] = [:]
        var users: [String: UserEntry] = [:]
        var cacheRules: [CacheRuleEntry] = []
        var sawGeneral = false
        for e in entries {
            switch e.section {
            case let s where generalSections.contains(s):
                sawGeneral = true
                let key = e.key.lowercased()
                guard let spec = specs[key] else {
                    errors.append(ConfigError(file: e.file, line: e.line, key: e.key, message: "unknown setting"))
                    continue
                }
                switch SettingValue.parse(e.value, as: spec.kind) {
                case .success(let v):
                    settings[key] = .init(spec: spec, text: e.value, value: v, source: .file(e.file, line: e.line))
                    if spec.support == .acceptedWithWarning && e.value != spec.defaultValue {
                        warnings.append("\(e.file):\(e.line): \(key) is accepted for PgBouncer compatibility but not implemented by pgswift; it has no effect")
                    }
                case .failure(let m):
                    errors.append(ConfigError(file: e.file, line: e.line, key: e.key, message: m.text))
                }
            case "databases":
                switch parseDatabase(e, warnings: &warnings) {
                case .success(let db): databases[db.name] = db
                case .failure(let err): errors.append(err)
                }
            case "users":
                switch parseUser(e) {
                case .success(let u): users[u.name] = u
                case .failure(let err): errors.append(err)
                }
            case "cache_rules":
                switch CacheRuleEntry.parse(e) {
                case .success(let rule):
                    if let earlier = cacheRules.firstIndex(where: { $0.target == rule.target }) {
                        errors.append(ConfigError(file: e.file, line: e.line, key: e.key,
                                                  message: "\(rule.target) has a rule already (\(cacheRules[earlier].source))"))
                    } else {
                        cacheRules.append(rule)
                    }
                case .failure(let err): errors.append(err)
                }
            case "peers":
                warnings.append("\(e.file):\(e.line): [peers] is accepted for PgBouncer compatibility but not implemented by pgswift")
            default:
                errors.append(ConfigError(file: e.file, line: e.line, key: e.key, message: "unknown section [\(e.section)]"))
            }
        }
        if !sawGeneral && !entries.isEmpty {
            warnings.append("\(path): no keys in a [pgswift] or [pgbouncer] section; every setting has its default")
        }

        for (name, text) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("PGSWIFT_") {
            let key = name.dropFirst("PGSWIFT_".count).lowercased()
            guard let spec = specs[key] else {
                // Other tools (and our own test scripts) use the prefix too: a typo is worth a warning, not a refusal.
                warnings.append("environment: \(name) names no setting (\(key)); ignored")
                continue
            }
            switch SettingValue.parse(text, as: spec.kind) {
            case .success(let v):
                settings[key] = .init(spec: spec, text: text, value: v, source: .environment(name))
                if spec.support == .acceptedWithWarning && text != spec.defaultValue {
                    warnings.append("environment: \(name): \(key) is accepted for PgBouncer compatibility but not implemented by pgswift; it has no effect")
                }
            case .failure(let m): errors.append(ConfigError(file: "environment", line: 0, key: name, message: m.text))
            }
        }
        // The cache's variables as container images name them (a PGSWIFT_ variable of the same setting wins).
        for (name, (key, unit)) in environmentAliases.sorted(by: { $0.key < $1.key }) {
            guard let text = environment[name], environment["PGSWIFT_" + key.uppercased()] == nil, let spec = specs[key] else { continue }
            if unit != nil {
                guard let number = Double(text.trimmingWhitespace), number >= 0, number.isFinite else {
                    errors.append(ConfigError(file: "environment", line: 0, key: name, message: "invalid number \"\(text)\""))
                    continue
                }
            }
            let full = text.trimmingWhitespace + (unit ?? "")
            switch SettingValue.parse(full, as: spec.kind) {
            case .success(let v): settings[key] = .init(spec: spec, text: full, value: v, source: .environment(name))
            case .failure(let m): errors.append(ConfigError(file: "environment", line: 0, key: name, message: m.text))
            }
        }

        // Without max_prepared_statements, transaction pooling cannot carry named statements: say so.
        let modes = [settings["pool_mode"]?.text ?? "session"] + databases.values.compactMap(\.poolMode) + users.values.compactMap(\.poolMode)
        if let other = modes.first(where: { $0.lowercased() != "session" }), settings["max_prepared_statements"]?.text == "0" {
            warnings.append("\(path): pool_mode \(other) with max_prepared_statements = 0: protocol-level prepared statements are not carried from one server connection to the next; clients that prepare named statements need session mode or max_prepared_statements > 0")
        }
        let config = ProxyConfig(path: path, settings: settings, databases: databases, users: users, cacheRules: cacheRules, warnings: warnings)
        // An unreadable file has already said so; its defaults' cross-checks would only add noise.
        if !(entries.isEmpty && !errors.isEmpty) { errors += crossChecks(config) }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return config
    }

    /// Problems that involve more than one key.
    static func crossChecks(_ c: ProxyConfig) -> [ConfigError] {
        var errors: [ConfigError] = []
        func place(_ key: String) -> (String, Int) {
            switch c.settings[key]?.source {
            case .file(let f, let line): (f, line)
            case .environment(let n): ("environment \(n)", 0)
            default: (c.path, 0)
            }
        }
        let auth = c.string("auth_type")
        if ["md5", "scram-sha-256", "plain"].contains(auth) && c.string("auth_file").isEmpty && c.string("auth_user").isEmpty {
            let (f, l) = place("auth_type")
            errors.append(ConfigError(file: f, line: l, key: "auth_type", message: "\(auth) needs auth_file or auth_user/auth_query to find passwords"))
        }
        if auth == "hba" && c.string("auth_hba_file").isEmpty {
            let (f, l) = place("auth_type")
            errors.append(ConfigError(file: f, line: l, key: "auth_type", message: "hba needs auth_hba_file"))
        }
        if auth == "pam" || auth == "ldap" || auth == "cert" {
            let (f, l) = place("auth_type")
            errors.append(ConfigError(file: f, line: l, key: "auth_type", message: "\(auth) is not supported by pgswift"))
        }
        let tls = c.string("client_tls_sslmode")
        if tls != "disable" && (c.string("client_tls_key_file").isEmpty || c.string("client_tls_cert_file").isEmpty) {
            let (f, l) = place("client_tls_sslmode")
            errors.append(ConfigError(file: f, line: l, key: "client_tls_sslmode", message: "\(tls) needs client_tls_key_file and client_tls_cert_file"))
        }
        return errors
    }

    static func parseDatabase(_ e: IniEntry, warnings: inout [String]) -> Result<DatabaseEntry, ConfigError> {
        func fail(_ key: String?, _ m: String) -> Result<DatabaseEntry, ConfigError> {
            .failure(ConfigError(file: e.file, line: e.line, key: key.map { "\(e.key).\($0)" } ?? e.key, message: m))
        }
        var db = DatabaseEntry(name: e.key, source: .file(e.file, line: e.line))
        let pairs: [(String, String)]
        switch ConnectionString.parse(e.value) {
        case .success(let p): pairs = p
        case .failure(let m): return fail(nil, m.text)
        }
        for (k, v) in pairs {
            func int(_ lo: Int, _ hi: Int) -> Int? {
                if let n = Int(v), n >= lo, n <= hi { return n }
                return nil
            }
            switch k {
            case "host":
                db.host = v
                // Split as PgBouncer splits a host list; a Unix socket directory holds no comma.
                let list = commaList(v)
                guard !list.contains(where: \.isEmpty) || v.isEmpty else { return fail(k, "empty host in list \"\(v)\"") }
                db.hosts = v.isEmpty ? [] : list
            case "port":
                guard let ports = intList(v, 1...65535) else { return fail(k, "invalid port \"\(v)\"") }
                db.ports = ports
                db.port = ports.first
            case "weight":
                guard let weights = intList(v, 0...1_000_000) else {
                    return fail(k, "invalid weight \"\(v)\" (expected integers from 0 to 1000000, one per host)")
                }
                db.weights = weights
            case "load_balance_hosts":
                guard ["round-robin", "disable"].contains(v.lowercased()) else {
                    return fail(k, "invalid value \"\(v)\" (expected one of: round-robin, disable)")
                }
                db.loadBalanceHosts = v.lowercased()
            case "dbname": db.dbname = v
            case "user": db.user = v
            case "password": db.password = v
            case "auth_user": db.authUser = v
            case "auth_query": db.authQuery = v
            case "pool_size":
                guard let n = int(0, Int(Int32.max)) else { return fail(k, "invalid integer \"\(v)\"") }
                db.poolSize = n
            case "min_pool_size":
                guard let n = int(0, Int(Int32.max)) else { return fail(k, "invalid integer \"\(v)\"") }
                db.minPoolSize = n
            case "reserve_pool_size", "reserve_pool":
                guard let n = int(0, Int(Int32.max)) else { return fail(k, "invalid integer \"\(v)\"") }
                db.reservePoolSize = n
            case "max_db_connections":
                guard let n = int(0, Int(Int32.max)) else { return fail(k, "invalid integer \"\(v)\"") }
                db.maxDBConnections = n
            case "pool_mode":
                guard ["session", "transaction", "statement"].contains(v.lowercased()) else {
                    return fail(k, "invalid value \"\(v)\" (expected one of: session, transaction, statement)")
                }
                db.poolMode = v.lowercased()
            case "connect_query": db.connectQuery = v
            case "application_name", "client_encoding", "datestyle", "timezone":
                db.startupParameters[k] = v
            case _ where KnownSettings.routingKeys.contains(k):
                guard let spec = KnownSettings.spec(named: k) else { return fail(k, "unknown database parameter") }
                switch SettingValue.parse(v, as: spec.kind) {
                case .success(let value): db.routing[k] = value
                case .failure(let m): return fail(k, m.text)
                }
            case _ where KnownSettings.databaseKeys.contains(k):
                warnings.append("\(e.file):\(e.line): \(e.key).\(k) is accepted for PgBouncer compatibility but not implemented by pgswift; it has no effect")
            default:
                return fail(k, "unknown database parameter")
            }
        }
        let hostCount = max(db.hosts.count, 1)
        if db.ports.count > 1 && db.ports.count != hostCount {
            return fail("port", "\(db.ports.count) ports for \(hostCount) host\(hostCount == 1 ? "" : "s") (give one port, or one per host)")
        }
        if !db.weights.isEmpty {
            guard db.weights.count == hostCount else {
                return fail("weight", "\(db.weights.count) weights for \(hostCount) host\(hostCount == 1 ? "" : "s") (give one per host)")
            }
            guard db.weights.contains(where: { $0 > 0 }) else { return fail("weight", "at least one host needs a weight above 0") }
        }
        return .success(db)
    }

    /// `a, b,c` as its trimmed parts (empty ones kept, for the caller to refuse).
    private static func commaList(_ v: String) -> [String] {
        v.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// A comma-separated list of integers in `range`, or nil when any part is not one.
    private static func intList(_ v: String, _ range: ClosedRange<Int>) -> [Int]? {
        var out: [Int] = []
        for part in commaList(v) {
            guard let n = Int(part), range.contains(n) else { return nil }
            out.append(n)
        }
        return out
    }

    static func parseUser(_ e: IniEntry) -> Result<UserEntry, ConfigError> {
        func fail(_ key: String?, _ m: String) -> Result<UserEntry, ConfigError> {
            .failure(ConfigError(file: e.file, line: e.line, key: key.map { "\(e.key).\($0)" } ?? e.key, message: m))
        }
        var u = UserEntry(name: e.key, source: .file(e.file, line: e.line))
        let pairs: [(String, String)]
        switch ConnectionString.parse(e.value) {
        case .success(let p): pairs = p
        case .failure(let m): return fail(nil, m.text)
        }
        for (k, v) in pairs {
            switch k {
            case "pool_mode":
                guard ["session", "transaction", "statement"].contains(v.lowercased()) else {
                    return fail(k, "invalid value \"\(v)\" (expected one of: session, transaction, statement)")
                }
                u.poolMode = v.lowercased()
            case "pool_size", "reserve_pool_size", "max_user_connections":
                guard let n = Int(v), n >= 0 else { return fail(k, "invalid integer \"\(v)\"") }
                switch k {
                case "pool_size": u.poolSize = n
                case "reserve_pool_size": u.reservePoolSize = n
                default: u.maxUserConnections = n
                }
            case _ where KnownSettings.userKeys.contains(k):
                break
            default:
                return fail(k, "unknown user parameter")
            }
        }
        return .success(u)
    }
}
