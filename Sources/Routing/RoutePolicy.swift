// The settings behind read/write splitting, typed once per (re)load.

/// How reads and writes are spread over a database's nodes.
public struct RoutePolicy: Sendable, Equatable {
    /// read_write_split: off keeps PgBouncer's meaning of a host list (any node, tried in turn).
    public var split: Bool
    /// read_write_strategy: aggressive lets a transaction whose first statement reads run on a replica.
    public var aggressive: Bool
    public var primaryReads: PrimaryReads
    public var balancing: Balancing
    /// replica_max_lag: a replica further behind gets no new reads (nil: no limit of that kind).
    public var maxLagBytes: UInt64?
    public var maxLagSeconds: Double?
    public var readYourWrites: ReadYourWrites

    public enum PrimaryReads: String, Sendable, Equatable {
        /// Reads go to the primary when no replica is eligible.
        case fallback
        /// Reads go to the primary as well as to replicas.
        case always
        /// Reads fail when no replica is eligible.
        case never
    }

    public enum Balancing: String, Sendable, Equatable {
        case leastActiveConnections = "least_active_connections"
        case roundRobin = "round_robin"
        case random
    }

    public enum ReadYourWrites: Sendable, Equatable {
        case off
        /// After a write, the client reads from the primary for this many seconds.
        case window(Double)
        /// After a write commits, the client reads only from nodes that have replayed its commit.
        case lsn
    }

    public init(split: Bool = true, aggressive: Bool = false, primaryReads: PrimaryReads = .fallback,
                balancing: Balancing = .leastActiveConnections, maxLagBytes: UInt64? = nil, maxLagSeconds: Double? = nil,
                readYourWrites: ReadYourWrites = .lsn) {
        self.split = split
        self.aggressive = aggressive
        self.primaryReads = primaryReads
        self.balancing = balancing
        self.maxLagBytes = maxLagBytes
        self.maxLagSeconds = maxLagSeconds
        self.readYourWrites = readYourWrites
    }
}
