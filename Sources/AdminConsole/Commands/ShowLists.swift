// SHOW LISTS: counts of databases, users, pools and connections (pgswift keeps no slab caches or DNS cache: those are 0).

enum ShowLists: AdminCommand {
    static let name = "SHOW LISTS"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let runtime = call.runtime
        let clients = try await runtime.clients()
        let servers = try await runtime.servers()
        let users = ShowUsers.names(runtime, clientUsers: clients.map(\.user).filter { !$0.isEmpty })
        let rows: [(String, Int)] = [
            ("databases", runtime.config.databases.count), ("users", users.count), ("peers", 0), ("pools", runtime.pools.count),
            ("peer_pools", 0), ("free_clients", 0), ("used_clients", clients.filter { $0.state != .login }.count),
            ("login_clients", clients.filter { $0.state == .login }.count), ("free_servers", 0),
            ("used_servers", servers.count), ("dns_names", 0), ("dns_zones", 0), ("dns_queries", 0), ("dns_pending", 0),
        ]
        var t = AdminTable([("list", .text), ("items", .int4)])
        for (name, n) in rows { t.add([.text(name), .int(n)]) }
        return .table(t)
    }
}
