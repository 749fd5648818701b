// The admin console's view of the running proxy: ProxyRuntime's state turned into the plain values AdminConsole reads.
import AdminConsole
import Config
import Logging
import PoolCore

/// Made per command; holds nothing but the runtime. Snapshots of connections are taken on each one's own loop.
struct RuntimeConsole: AdminRuntime {
    let runtime: ProxyRuntime

    var versions: AdminVersions { AdminVersions(pgswift: PgswiftVersion.current, pgbouncer: PgswiftVersion.compatible) }
    var config: ProxyConfig { runtime.config }
    var logger: Logger { runtime.logger }
    var isPaused: Bool { runtime.isPaused }

    func clients() async throws -> [AdminConnection] {
        try await runtime.gather { loop in loop.clients.values.map { $0.info() } }.get()
    }

    func servers() async throws -> [AdminConnection] {
        try await runtime.gather { loop in loop.servers.values.map { $0.info() } }.get()
    }

    var pools: [AdminPool] {
        let config = runtime.config
        return runtime.homePools.map { pool in
            let mode = config.database(named: pool.key.database).map { runtime.poolMode(entry: $0, user: pool.key.user, config: config) }
            return AdminPool(name: pool.key, mode: mode?.rawValue ?? "session")
        }
    }

    var databases: [AdminDatabase] {
        let config = runtime.config
        return config.databases.values.map { entry in
            let limits = runtime.limits(entry: entry, user: entry.user ?? "", config: config)
            return AdminDatabase(entry: entry, poolSize: limits.poolSize, minPoolSize: limits.minPoolSize,
                                 reservePoolSize: limits.reservePoolSize, serverConnections: runtime.budget.open(database: entry.name),
                                 paused: runtime.databases.isPaused(entry.name), disabled: runtime.databases.isDisabled(entry.name))
        }
    }

    var users: AdminUsers {
        AdminUsers(authFile: Set(runtime.loaded.userlist.keys), serverConnections: runtime.budget.openByUser())
    }

    func statsTotals() async throws -> [String: StatsTotals] {
        try await StatsSampler.totals(runtime).get()
    }

    var statsAverages: AdminAverages {
        AdminAverages(byDatabase: runtime.stats.averages, overall: runtime.stats.overall)
    }
}
