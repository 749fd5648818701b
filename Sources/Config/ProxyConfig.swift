// An immutable, validated configuration snapshot: what one load of the file (plus environment) means.

public struct ProxyConfig: Sendable {
    public struct Setting: Sendable, Equatable {
        public var spec: SettingSpec
        public var text: String
        public var value: SettingValue
        public var source: ValueSource
    }

    public let path: String
    public private(set) var settings: [String: Setting]
    public let databases: [String: DatabaseEntry]
    public let users: [String: UserEntry]
    /// [cache_rules], in file order.
    public let cacheRules: [CacheRuleEntry]
    /// Keys accepted only for compatibility, and anything else worth telling the operator.
    public let warnings: [String]

    init(path: String, settings: [String: Setting], databases: [String: DatabaseEntry], users: [String: UserEntry],
         cacheRules: [CacheRuleEntry] = [], warnings: [String]) {
        self.path = path
        self.cacheRules = cacheRules
        self.settings = settings
        self.databases = databases
        self.users = users
        self.warnings = warnings
    }

    private func value(_ key: String) -> SettingValue {
        guard let s = settings[key] else { preconditionFailure("unknown setting \(key)") }
        return s.value
    }

    public func string(_ key: String) -> String {
        if case .string(let v) = value(key) { return v }
        preconditionFailure("\(key) is not a string setting")
    }

    public func int(_ key: String) -> Int {
        if case .integer(let v) = value(key) { return v }
        preconditionFailure("\(key) is not an integer setting")
    }

    public func bool(_ key: String) -> Bool {
        if case .boolean(let v) = value(key) { return v }
        preconditionFailure("\(key) is not a boolean setting")
    }

    public func seconds(_ key: String) -> Double {
        if case .seconds(let v) = value(key) { return v }
        preconditionFailure("\(key) is not a duration setting")
    }

    public func bytes(_ key: String) -> Int {
        if case .bytes(let v) = value(key) { return v }
        preconditionFailure("\(key) is not a size setting")
    }

    /// replica_max_lag's limits (nil: none of that kind).
    public func lag(_ key: String) -> (bytes: Int?, seconds: Double?) {
        if case .lag(let b, let s) = value(key) { return (b, s) }
        preconditionFailure("\(key) is not a lag setting")
    }

    /// A routing setting as `entry` overrides it, else the global value.
    public func routing(_ key: String, for entry: DatabaseEntry) -> SettingValue {
        entry.routing[key] ?? value(key)
    }

    public func list(_ key: String) -> [String] {
        if case .list(let v) = value(key) { return v }
        preconditionFailure("\(key) is not a list setting")
    }

    /// The entry for a database name a client asked for, falling back to "*".
    public func database(named name: String) -> DatabaseEntry? {
        if let e = databases[name] { return e.resolved(forRequested: name) }
        return databases["*"]?.resolved(forRequested: name)
    }

    /// A copy with one setting changed at run time (admin SET), validated like the file.
    public func setting(_ key: String, to text: String) -> Result<ProxyConfig, ConfigMessage> {
        guard let old = settings[key.lowercased()] else { return .failure(ConfigMessage("unknown setting \(key)")) }
        switch SettingValue.parse(text, as: old.spec.kind) {
        case .failure(let m): return .failure(m)
        case .success(let v):
            var copy = self
            copy.settings[old.spec.name] = Setting(spec: old.spec, text: text, value: v, source: .runtime)
            return .success(copy)
        }
    }
}
