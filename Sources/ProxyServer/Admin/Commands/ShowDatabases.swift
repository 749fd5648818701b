// SHOW DATABASES: each [databases] entry with its effective pool settings and connection counts.
import Config
import NIOCore

enum ShowDatabases: AdminCommand {
    static let name = "SHOW DATABASES"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        return runtime.gather { loop in loop.clients.values.map(\.startup.database) }.map { clientDatabases in
            let config = runtime.config
            var clientsPerDB: [String: Int] = [:]
            for db in clientDatabases { clientsPerDB[db, default: 0] += 1 }
            var t = AdminTable([
                ("name", .text), ("host", .text), ("port", .int4), ("database", .text), ("force_user", .text), ("pool_size", .int4),
                ("min_pool_size", .int4), ("reserve_pool_size", .int4), ("server_lifetime", .int4), ("pool_mode", .text),
                ("load_balance_hosts", .text), ("max_connections", .int4), ("current_connections", .int4),
                ("max_client_connections", .int4), ("current_client_connections", .int4), ("paused", .int4), ("disabled", .int4),
                // Read by older exporters (Debian's prometheus-pgbouncer-exporter 1.7): PgBouncer 1.24 renamed it.
                ("reserve_pool", .int4),
            ])
            for entry in config.databases.values.sorted(by: { $0.name < $1.name }) {
                let limits = runtime.limits(entry: entry, user: entry.user ?? "", config: config)
                t.add([
                    .text(entry.name), entry.host.map { .text($0) } ?? .null, .int(entry.port ?? 5432), .text(entry.dbname ?? entry.name),
                    entry.user.map { .text($0) } ?? .null, .int(limits.poolSize), .int(limits.minPoolSize), .int(limits.reservePoolSize),
                    .int(Int(config.seconds("server_lifetime"))), entry.poolMode.map { .text($0) } ?? .null, .null,
                    .int(entry.maxDBConnections ?? config.int("max_db_connections")), .int(runtime.budget.open(database: entry.name)),
                    .int(config.int("max_db_client_connections")), .int(clientsPerDB[entry.name] ?? 0),
                    .int(runtime.databases.isPaused(entry.name) ? 1 : 0), .int(runtime.databases.isDisabled(entry.name) ? 1 : 0),
                    .int(limits.reservePoolSize),
                ])
            }
            // The console, as PgBouncer lists it.
            let console = AdminSession.databaseNames.reduce(0) { $0 + (clientsPerDB[$1] ?? 0) }
            t.add(["pgbouncer", .null, .int(config.int("listen_port")), "pgbouncer", "pgbouncer", 2, 0, 0,
                   .int(Int(config.seconds("server_lifetime"))), "statement", .null, 0, 0, 0, .int(console), 0, 0, 0])
            return .table(t)
        }
    }
}
