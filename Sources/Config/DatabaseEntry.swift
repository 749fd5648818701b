// One [databases] or [users] entry, checked and typed.

public struct DatabaseEntry: Sendable, Equatable {
    /// The name clients ask for; "*" is the fallback for names not listed.
    public var name: String
    /// The host as written: one name or address, a Unix socket directory, or a comma-separated list.
    public var host: String?
    /// The port, or the first of a list.
    public var port: Int?
    /// The host list (`host=a,b,c`), each tried in turn as load_balance_hosts says; empty when no host is given.
    public var hosts: [String] = []
    /// One port for every host, or one per host (`port=5432,5433`, pgswift's extension).
    public var ports: [Int] = []
    /// Per host (`weight=3,1`, pgswift's extension): how often each is chosen first; empty means all alike.
    public var weights: [Int] = []
    /// load_balance_hosts: round-robin (PgBouncer's default; nil here) or disable.
    public var loadBalanceHosts: String?
    public var dbname: String?
    public var user: String?
    public var password: String?
    public var authUser: String?
    public var authQuery: String?
    public var poolSize: Int?
    public var minPoolSize: Int?
    public var reservePoolSize: Int?
    public var maxDBConnections: Int?
    public var poolMode: String?
    public var connectQuery: String?
    /// pgswift settings this entry sets for itself (read_write_split, cache and the others of KnownSettings.routingKeys).
    public var routing: [String: SettingValue] = [:]
    /// Startup parameters sent to the server (application_name, client_encoding, datestyle, timezone).
    public var startupParameters: [String: String] = [:]
    public var source: ValueSource

    public init(name: String, source: ValueSource) {
        self.name = name
        self.source = source
    }

    /// Each host with its port (5432 when none is given); `defaultHost` when the entry names none.
    public func addresses(defaultHost: String) -> [(host: String, port: Int)] {
        let list = hosts.isEmpty ? [defaultHost] : hosts
        return list.enumerated().map { i, h in (h, ports.count == list.count ? ports[i] : (ports.first ?? 5432)) }
    }

    /// The entry a client's database name resolves to, with "*" filled in for an unlisted name.
    public func resolved(forRequested requested: String) -> DatabaseEntry {
        var e = self
        if name == "*" {
            e.name = requested
            if e.dbname == nil { e.dbname = requested }
        }
        return e
    }
}

public struct UserEntry: Sendable, Equatable {
    public var name: String
    public var poolMode: String?
    public var poolSize: Int?
    public var reservePoolSize: Int?
    public var maxUserConnections: Int?
    public var source: ValueSource

    public init(name: String, source: ValueSource) {
        self.name = name
        self.source = source
    }
}
