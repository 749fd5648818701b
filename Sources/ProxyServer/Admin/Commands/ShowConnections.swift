// SHOW CLIENTS and SHOW SERVERS: one row per connection, PgBouncer 1.25's 21 columns, then pgswift's own.
import Foundation
import NIOCore

enum ShowClients: AdminCommand {
    static let name = "SHOW CLIENTS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        call.runtime.gather { loop in loop.clients.values.map { $0.info() } }.map { .table(ConnectionTable.make($0)) }
    }
}

enum ShowServers: AdminCommand {
    static let name = "SHOW SERVERS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        call.runtime.gather { loop in loop.servers.values.map { $0.info() } }.map { .table(ConnectionTable.make($0)) }
    }
}

enum ConnectionTable {
    static func make(_ infos: [ConnectionInfo]) -> AdminTable {
        var t = AdminTable([
            ("type", .text), ("user", .text), ("database", .text), ("replication", .text), ("state", .text), ("addr", .text),
            ("port", .int4), ("local_addr", .text), ("local_port", .int4), ("connect_time", .text), ("request_time", .text),
            ("wait", .int4), ("wait_us", .int4), ("close_needed", .int4), ("ptr", .text), ("link", .text), ("remote_pid", .int4),
            ("tls", .text), ("application_name", .text), ("prepared_statements", .int4), ("id", .int4), ("pool_mode", .text), ("pinned", .text),
        ])
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        for i in infos.sorted(by: { $0.id < $1.id }) {
            let wait = i.waitSeconds.rounded(.down)
            t.add([
                .text(i.isClient ? "C" : "S"), .text(i.user.isEmpty ? "(nouser)" : i.user), .text(i.database.isEmpty ? "(nodb)" : i.database),
                "none", .text(i.state.rawValue), .text(address(i.remote)), .int(i.remote?.port ?? 0), .text(address(i.local)), .int(i.local?.port ?? 0),
                .text(formatter.string(from: i.connectedAt)), .text(formatter.string(from: i.requestAt)),
                .int(Int(wait)), .int(Int((i.waitSeconds - wait) * 1_000_000)), .int(i.closeNeeded ? 1 : 0), .text(ConnectionInfo.handle(i.id)),
                .text(i.link.map(ConnectionInfo.handle) ?? ""), .int(i.remotePID), .text(i.tls), .text(i.applicationName),
                .int(i.preparedStatements), .int(i.id), .text(i.poolMode), .text(i.pinned),
            ])
        }
        return t
    }

    private static func address(_ a: SocketAddress?) -> String {
        guard let a else { return "unix" }
        return a.ipAddress ?? "unix"
    }
}
