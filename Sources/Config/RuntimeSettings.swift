// The settings the connection paths read, typed and taken from a config snapshot once per load, reload or SET.

/// Built from a `ProxyConfig` in one place, so a mistyped key fails the first test that builds one (every key is
/// read at once), not a client's login; and a client or server reads a field, not a string-keyed dictionary.
public struct RuntimeSettings: Sendable, Equatable {
    public var maxPacketSize: Int
    /// 0: named prepared statements are not carried in transaction and statement mode.
    public var maxPreparedStatements: Int
    /// session_pinning = refuse: SQL that would pin a client fails instead (pgswift's key).
    public var refusePins: Bool
    public var logConnections: Bool
    public var logDisconnections: Bool
    public var logStats: Bool
    public var maxClientConn: Int
    /// Seconds; 0 is off where PgBouncer's meaning says so.
    public var clientLoginTimeout: Double
    public var cancelWaitTimeout: Double
    public var statsPeriod: Double
    public var queryTimeout: Double
    public var idleTransactionTimeout: Double
    public var transactionTimeout: Double
    public var clientIdleTimeout: Double
    /// Seconds; 0: no health checks.
    public var healthCheckPeriod: Double
    public var healthCheckTimeout: Double
    public var healthCheckFailures: Int
    public var healthCheckSuccesses: Int
    /// Empty: the entry's first pool's server role.
    public var healthCheckUser: String
    /// read_write_split: functions always sent to the primary, and VOLATILE ones that only read (lower case).
    public var writeFunctions: Set<String>
    public var readOnlyFunctions: Set<String>
    public var autoFailover: Bool
    /// cache_catalog_period, in seconds.
    public var cacheCatalogPeriod: Double
    public var failoverTimeout: Double

    public init(_ c: ProxyConfig) {
        maxPacketSize = c.bytes("max_packet_size")
        maxPreparedStatements = c.int("max_prepared_statements")
        refusePins = c.string("session_pinning") == "refuse"
        logConnections = c.bool("log_connections")
        logDisconnections = c.bool("log_disconnections")
        logStats = c.bool("log_stats")
        maxClientConn = c.int("max_client_conn")
        clientLoginTimeout = c.seconds("client_login_timeout")
        cancelWaitTimeout = c.seconds("cancel_wait_timeout")
        statsPeriod = c.seconds("stats_period")
        queryTimeout = c.seconds("query_timeout")
        idleTransactionTimeout = c.seconds("idle_transaction_timeout")
        transactionTimeout = c.seconds("transaction_timeout")
        clientIdleTimeout = c.seconds("client_idle_timeout")
        healthCheckPeriod = c.seconds("health_check_period")
        healthCheckTimeout = c.seconds("health_check_timeout")
        healthCheckFailures = c.int("health_check_failures")
        healthCheckSuccesses = c.int("health_check_successes")
        healthCheckUser = c.string("health_check_user")
        writeFunctions = Set(c.list("write_functions").map { $0.lowercased() })
        readOnlyFunctions = Set(c.list("read_only_functions").map { $0.lowercased() })
        autoFailover = c.bool("auto_failover")
        cacheCatalogPeriod = max(c.seconds("cache_catalog_period"), 0.5)
        failoverTimeout = c.seconds("failover_timeout")
    }
}
