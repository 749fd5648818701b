// SHOW POOLS: per (database, user) pool, its clients and servers by state and the longest wait.
import PoolCore

enum ShowPools: AdminCommand {
    static let name = "SHOW POOLS"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let runtime = call.runtime
        let all = try await runtime.clients() + runtime.servers()
        var t = AdminTable([
            ("database", .text), ("user", .text), ("cl_active", .int4), ("cl_waiting", .int4), ("cl_active_cancel_req", .int4),
            ("cl_waiting_cancel_req", .int4), ("sv_active", .int4), ("sv_active_cancel", .int4), ("sv_being_canceled", .int4),
            ("sv_idle", .int4), ("sv_used", .int4), ("sv_tested", .int4), ("sv_login", .int4), ("maxwait", .int4),
            ("maxwait_us", .int4), ("pool_mode", .text), ("load_balance_hosts", .text),
        ])
        let byPool = Dictionary(grouping: all.filter { $0.pool != nil }, by: { $0.pool! })
        // The console itself, as PgBouncer lists it: a statement-mode pool whose clients are the admin sessions.
        let config = runtime.config
        let consoleClients = all.filter { $0.isClient && AdminCommands.databaseNames.contains($0.database) && config.database(named: $0.database) == nil }
        t.add(["pgbouncer", "pgbouncer", .int(consoleClients.count), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "statement", .null])
        for pool in runtime.pools.sorted(by: { ($0.name.database, $0.name.user) < ($1.name.database, $1.name.user) }) {
            let rows = byPool[pool.name] ?? []
            func count(_ client: Bool, _ states: Set<ConnectionState>) -> AdminValue {
                .int(rows.filter { $0.isClient == client && states.contains($0.state) }.count)
            }
            let maxWait = rows.filter { $0.isClient && $0.state == .waiting }.map(\.waitSeconds).max() ?? 0
            t.add([
                .text(pool.name.database), .text(pool.name.user), count(true, [.active, .idle]), count(true, [.waiting]), 0, 0,
                count(false, [.active]), .int(rows.filter { !$0.isClient && $0.state == .active && $0.cancelInFlight }.count),
                count(false, [.beingCanceled]), count(false, [.idle]), 0, count(false, [.tested]), count(false, [.new]),
                .int(Int(maxWait)), .int(Int((maxWait - maxWait.rounded(.down)) * 1_000_000)),
                .text(pool.mode), .null,
            ])
        }
        return .table(t)
    }
}
