// One [databases] or [users] entry, checked and typed.

public struct DatabaseEntry: Sendable, Equatable {
    /// The name clients ask for; "*" is the fallback for names not listed.
    public var name: String
    public var host: String?
    public var port: Int?
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
    /// Startup parameters sent to the server (application_name, client_encoding, datestyle, timezone).
    public var startupParameters: [String: String] = [:]
    public var source: ValueSource

    public init(name: String, source: ValueSource) {
        self.name = name
        self.source = source
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
