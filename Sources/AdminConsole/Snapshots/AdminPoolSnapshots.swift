// Pools, databases and users as SHOW POOLS/DATABASES/USERS/LISTS read them: settings already resolved by the proxy.
import Config
import PoolCore

public struct AdminPool: Sendable, Equatable {
    public var name: PoolKey
    /// The mode its clients get ([users] over the database over the global pool_mode); "session" once its database
    /// is gone from the config.
    public var mode: String

    public init(name: PoolKey, mode: String) {
        self.name = name
        self.mode = mode
    }
}

public struct AdminDatabase: Sendable, Equatable {
    public var entry: DatabaseEntry
    /// The entry's pool sizes for its forced user (or none), with [users] and the globals applied.
    public var poolSize: Int
    public var minPoolSize: Int
    public var reservePoolSize: Int
    /// Open server connections (what max_db_connections counts).
    public var serverConnections: Int
    public var paused: Bool
    public var disabled: Bool

    public init(entry: DatabaseEntry, poolSize: Int, minPoolSize: Int, reservePoolSize: Int, serverConnections: Int = 0,
                paused: Bool = false, disabled: Bool = false) {
        self.entry = entry
        self.poolSize = poolSize
        self.minPoolSize = minPoolSize
        self.reservePoolSize = reservePoolSize
        self.serverConnections = serverConnections
        self.paused = paused
        self.disabled = disabled
    }
}

/// What the proxy knows of users beyond the config's [users] and the pools.
public struct AdminUsers: Sendable, Equatable {
    /// auth_file's names.
    public var authFile: Set<String>
    /// Open server connections per server user (what max_user_connections counts).
    public var serverConnections: [String: Int]

    public init(authFile: Set<String> = [], serverConnections: [String: Int] = [:]) {
        self.authFile = authFile
        self.serverConnections = serverConnections
    }
}

/// The averages of the last stats_period.
public struct AdminAverages: Sendable, Equatable {
    public var byDatabase: [String: StatsAverages]
    /// Over all databases together (SHOW TOTALS).
    public var overall: StatsAverages

    public init(byDatabase: [String: StatsAverages] = [:], overall: StatsAverages = StatsAverages()) {
        self.byDatabase = byDatabase
        self.overall = overall
    }
}
