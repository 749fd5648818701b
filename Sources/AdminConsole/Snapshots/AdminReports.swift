// The smaller reports: prepared statements on servers, live objects, the status port's SLA figures and tuning advice.

public struct AdminPreparedStatement: Sendable, Equatable {
    public var serverID: Int
    public var database: String
    public var user: String
    /// The shared statement's id, for ordering; `name` is what the server knows it as.
    public var statementID: Int
    public var name: String
    /// nil once the catalog forgot the text.
    public var query: String?

    public init(serverID: Int, database: String, user: String, statementID: Int, name: String, query: String?) {
        self.serverID = serverID
        self.database = database
        self.user = user
        self.statementID = statementID
        self.name = name
        self.query = query
    }
}

/// Live objects of each kind, with the heap bytes one of them takes (0 when none is alive to measure).
public struct AdminMemory: Sendable, Equatable {
    public struct Kind: Sendable, Equatable {
        public var size: Int
        public var used: Int

        public init(size: Int, used: Int) {
            self.size = size
            self.used = used
        }
    }

    public var pools: Kind
    public var servers: Kind
    public var clients: Kind
    public var preparedStatements: Kind

    public init(pools: Kind, servers: Kind, clients: Kind, preparedStatements: Kind) {
        self.pools = pools
        self.servers = servers
        self.clients = clients
        self.preparedStatements = preparedStatements
    }
}

/// The status port's latency report. Figures are text as its JSON shows them, so the console and /api agree.
public struct AdminSLA: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        /// "*" for all databases together.
        public var database: String
        public var queries: Int
        public var queriesPerSecond: String
        public var p50Ms: String
        public var p95Ms: String
        public var p99Ms: String
        /// The percentiles over their target, of "p50", "p95", "p99".
        public var missed: [String]

        public init(database: String, queries: Int, queriesPerSecond: String, p50Ms: String, p95Ms: String, p99Ms: String,
                    missed: [String]) {
            self.database = database
            self.queries = queries
            self.queriesPerSecond = queriesPerSecond
            self.p50Ms = p50Ms
            self.p95Ms = p95Ms
            self.p99Ms = p99Ms
            self.missed = missed
        }
    }

    /// The SLA's percentile targets, as text.
    public struct Targets: Sendable, Equatable {
        public var p50Ms: String
        public var p95Ms: String
        public var p99Ms: String

        public init(p50Ms: String, p95Ms: String, p99Ms: String) {
            self.p50Ms = p50Ms
            self.p95Ms = p95Ms
            self.p99Ms = p99Ms
        }
    }

    public var windowSeconds: Int
    public var targets: Targets
    public var rows: [Row]

    public init(windowSeconds: Int, targets: Targets, rows: [Row]) {
        self.windowSeconds = windowSeconds
        self.targets = targets
        self.rows = rows
    }
}
