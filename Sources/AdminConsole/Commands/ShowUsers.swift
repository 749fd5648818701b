// SHOW USERS: users known from auth_file, [users] and pools, with their overrides and connection counts.

enum ShowUsers: AdminCommand {
    static let name = "SHOW USERS"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let runtime = call.runtime
        var clientsPerUser: [String: Int] = [:]
        for c in try await runtime.clients() where !c.user.isEmpty { clientsPerUser[c.user, default: 0] += 1 }
        let config = runtime.config
        let servers = runtime.users.serverConnections
        var t = AdminTable([
            ("name", .text), ("pool_size", .text), ("reserve_pool_size", .text), ("pool_mode", .text),
            ("max_user_connections", .int4), ("current_connections", .int4), ("max_user_client_connections", .int4),
            ("current_client_connections", .int4),
        ])
        for name in names(runtime, clientUsers: clientsPerUser.keys).sorted() {
            let entry = config.users[name]
            t.add([
                .text(name), .text(entry?.poolSize.map(String.init) ?? ""), .text(entry?.reservePoolSize.map(String.init) ?? ""),
                entry?.poolMode.map { .text($0) } ?? .null,
                .int(entry?.maxUserConnections ?? config.int("max_user_connections")), .int(servers[name] ?? 0),
                .int(config.int("max_user_client_connections")), .int(clientsPerUser[name] ?? 0),
            ])
        }
        return .table(t)
    }

    /// Users of auth_file and [users], of pools and of connected clients, and the console's own (PgBouncer lists it).
    static func names(_ runtime: any AdminRuntime, clientUsers: some Sequence<String>) -> Set<String> {
        var names = runtime.users.authFile.union(runtime.config.users.keys).union(runtime.pools.map(\.name.user))
        names.formUnion(clientUsers)
        names.insert(AdminCommands.poolName.user)
        return names
    }
}
