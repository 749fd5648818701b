// SHOW USERS: users known from auth_file, [users] and pools, with their overrides and connection counts.
import NIOCore

enum ShowUsers: AdminCommand {
    static let name = "SHOW USERS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        return runtime.gather { loop in loop.clients.values.map(\.startup.user) }.map { clientUsers in
            let loaded = runtime.loaded
            let config = loaded.config
            var clientsPerUser: [String: Int] = [:]
            for u in clientUsers where !u.isEmpty { clientsPerUser[u, default: 0] += 1 }
            let names = Self.names(runtime, clientUsers: clientsPerUser.keys)
            var t = AdminTable([
                ("name", .text), ("pool_size", .text), ("reserve_pool_size", .text), ("pool_mode", .text),
                ("max_user_connections", .int4), ("current_connections", .int4), ("max_user_client_connections", .int4),
                ("current_client_connections", .int4),
            ])
            for name in names.sorted() {
                let entry = config.users[name]
                t.add([
                    .text(name), .text(entry?.poolSize.map(String.init) ?? ""), .text(entry?.reservePoolSize.map(String.init) ?? ""),
                    entry?.poolMode.map { .text($0) } ?? .null,
                    .int(entry?.maxUserConnections ?? config.int("max_user_connections")), .int(runtime.budget.open(user: name)),
                    .int(config.int("max_user_client_connections")), .int(clientsPerUser[name] ?? 0),
                ])
            }
            return .table(t)
        }
    }

    /// Users of auth_file and [users], of pools and of connected clients, and the console's own (PgBouncer lists it).
    static func names(_ runtime: ProxyRuntime, clientUsers: some Sequence<String>) -> Set<String> {
        let loaded = runtime.loaded
        var names = Set(loaded.userlist.keys).union(loaded.config.users.keys).union(runtime.allPools.map(\.key.user))
        names.formUnion(clientUsers)
        names.insert("pgbouncer")
        return names
    }
}
