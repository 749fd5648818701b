// One host of a [databases] entry with several hosts, as its health checks and connections found it (SHOW NODES).

public struct AdminNode: Sendable, Equatable {
    public var database: String
    public var host: String
    public var port: Int
    /// primary, replica, or unknown before a check answered.
    public var role: String
    /// up, down, unchecked (no check has run: no health_check_user and no pool yet, or checks are off), or drained
    /// (DRAIN NODE).
    public var state: String
    /// closed, open or half-open.
    public var circuit: String
    /// The WAL position the last check saw (a primary's current, a replica's replayed), as PostgreSQL writes it.
    public var walPosition: String?
    /// A replica's distance from the entry's primary as last checked, and its replay delay.
    public var lagBytes: Int?
    public var lagMilliseconds: Int?
    public var activeServers: Int
    public var idleServers: Int
    /// Units of work read/write splitting sent there (every pool of the entry).
    public var routed: Int
    /// Seconds since the last check ended.
    public var checkedSecondsAgo: Int?
    public var lastError: String?

    public init(database: String, host: String, port: Int, role: String, state: String, circuit: String, walPosition: String? = nil,
                lagBytes: Int? = nil, lagMilliseconds: Int? = nil, activeServers: Int = 0, idleServers: Int = 0, routed: Int = 0,
                checkedSecondsAgo: Int? = nil, lastError: String? = nil) {
        self.database = database
        self.host = host
        self.port = port
        self.role = role
        self.state = state
        self.circuit = circuit
        self.walPosition = walPosition
        self.lagBytes = lagBytes
        self.lagMilliseconds = lagMilliseconds
        self.activeServers = activeServers
        self.idleServers = idleServers
        self.routed = routed
        self.checkedSecondsAgo = checkedSecondsAgo
        self.lastError = lastError
    }
}
