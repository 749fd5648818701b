// SHOW DATABASES: each [databases] entry with its effective pool settings and connection counts.

enum ShowDatabases: AdminCommand {
    static let name = "SHOW DATABASES"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let runtime = call.runtime
        var clientsPerDB: [String: Int] = [:]
        for c in try await runtime.clients() { clientsPerDB[c.database, default: 0] += 1 }
        let config = runtime.config
        var t = AdminTable([
            ("name", .text), ("host", .text), ("port", .int4), ("database", .text), ("force_user", .text), ("pool_size", .int4),
            ("min_pool_size", .int4), ("reserve_pool_size", .int4), ("server_lifetime", .int4), ("pool_mode", .text),
            ("load_balance_hosts", .text), ("max_connections", .int4), ("current_connections", .int4),
            ("max_client_connections", .int4), ("current_client_connections", .int4), ("paused", .int4), ("disabled", .int4),
            // Read by older exporters (Debian's prometheus-pgbouncer-exporter 1.7): PgBouncer 1.24 renamed it.
            ("reserve_pool", .int4),
        ])
        let lifetime = Int(config.seconds("server_lifetime"))
        for db in runtime.databases.sorted(by: { $0.entry.name < $1.entry.name }) {
            let entry = db.entry
            t.add([
                .text(entry.name), entry.host.map { .text($0) } ?? .null, .int(entry.port ?? 5432), .text(entry.dbname ?? entry.name),
                entry.user.map { .text($0) } ?? .null, .int(db.poolSize), .int(db.minPoolSize), .int(db.reservePoolSize),
                .int(lifetime), entry.poolMode.map { .text($0) } ?? .null, .null,
                .int(entry.maxDBConnections ?? config.int("max_db_connections")), .int(db.serverConnections),
                .int(config.int("max_db_client_connections")), .int(clientsPerDB[entry.name] ?? 0),
                .int(db.paused ? 1 : 0), .int(db.disabled ? 1 : 0), .int(db.reservePoolSize),
            ])
        }
        // The console, as PgBouncer lists it.
        let console = AdminCommands.databaseNames.reduce(0) { $0 + (clientsPerDB[$1] ?? 0) }
        t.add(["pgbouncer", .null, .int(config.int("listen_port")), "pgbouncer", "pgbouncer", 2, 0, 0,
               .int(lifetime), "statement", .null, 0, 0, 0, .int(console), 0, 0, 0])
        return .table(t)
    }
}
