// SHOW POOLS: per (database, user) pool, its clients and servers by state and the longest wait.
import NIOCore
import PoolCore

enum ShowPools: AdminCommand {
    static let name = "SHOW POOLS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        return runtime.gather { loop in loop.clients.values.map { $0.info() } + loop.servers.values.map { $0.info() } }.map { all in
            var t = AdminTable([
                ("database", .text), ("user", .text), ("cl_active", .int4), ("cl_waiting", .int4), ("cl_active_cancel_req", .int4),
                ("cl_waiting_cancel_req", .int4), ("sv_active", .int4), ("sv_active_cancel", .int4), ("sv_being_canceled", .int4),
                ("sv_idle", .int4), ("sv_used", .int4), ("sv_tested", .int4), ("sv_login", .int4), ("maxwait", .int4),
                ("maxwait_us", .int4), ("pool_mode", .text), ("load_balance_hosts", .text),
            ])
            let byPool = Dictionary(grouping: all.filter { $0.pool != nil }, by: { $0.pool! })
            // The console itself, as PgBouncer lists it: a statement-mode pool whose clients are the admin sessions.
            let consoleClients = all.filter { $0.isClient && AdminSession.databaseNames.contains($0.database) && runtime.config.database(named: $0.database) == nil }
            t.add(["pgbouncer", "pgbouncer", .int(consoleClients.count), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "statement", .null])
            let config = runtime.config
            for pool in runtime.allPools.sorted(by: { ($0.key.database, $0.key.user) < ($1.key.database, $1.key.user) }) {
                let rows = byPool[pool.key] ?? []
                func count(_ client: Bool, _ states: Set<ConnectionState>) -> AdminValue {
                    .int(rows.filter { $0.isClient == client && states.contains($0.state) }.count)
                }
                let maxWait = rows.filter { $0.isClient && $0.state == .waiting }.map(\.waitSeconds).max() ?? 0
                let mode = config.database(named: pool.key.database).map { runtime.poolMode(entry: $0, user: pool.key.user, config: config) }
                t.add([
                    .text(pool.key.database), .text(pool.key.user), count(true, [.active, .idle]), count(true, [.waiting]), 0, 0,
                    count(false, [.active]), .int(rows.filter { !$0.isClient && $0.state == .active && $0.cancelInFlight }.count),
                    count(false, [.beingCanceled]), count(false, [.idle]), 0, count(false, [.tested]), count(false, [.new]),
                    .int(Int(maxWait)), .int(Int((maxWait - maxWait.rounded(.down)) * 1_000_000)),
                    .text(mode?.rawValue ?? "session"), .null,
                ])
            }
            return .table(t)
        }
    }
}
