// SHOW CLIENTS and SHOW SERVERS: one row per connection, PgBouncer 1.25's 21 columns, then pgswift's own.
import Foundation
import NIOCore

enum ShowClients: AdminCommand {
    static let name = "SHOW CLIENTS"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        .table(ConnectionTable.make(try await call.runtime.clients()))
    }
}

enum ShowServers: AdminCommand {
    static let name = "SHOW SERVERS"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        .table(ConnectionTable.make(try await call.runtime.servers()))
    }
}

enum ConnectionTable {
    static func make(_ connections: [AdminConnection]) -> AdminTable {
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
        for c in connections.sorted(by: { $0.id < $1.id }) {
            let wait = c.waitSeconds.rounded(.down)
            t.add([
                .text(c.isClient ? "C" : "S"), .text(c.user.isEmpty ? "(nouser)" : c.user), .text(c.database.isEmpty ? "(nodb)" : c.database),
                "none", .text(c.state.rawValue), .text(address(c.remote)), .int(c.remote?.port ?? 0), .text(address(c.local)), .int(c.local?.port ?? 0),
                .text(formatter.string(from: c.connectedAt)), .text(formatter.string(from: c.requestAt)),
                .int(Int(wait)), .int(Int((c.waitSeconds - wait) * 1_000_000)), .int(c.closeNeeded ? 1 : 0), .text(AdminConnection.handle(c.id)),
                .text(c.link.map(AdminConnection.handle) ?? ""), .int(c.remotePID), .text(c.tls), .text(c.applicationName),
                .int(c.preparedStatements), .int(c.id), .text(c.poolMode), .text(c.pinned),
            ])
        }
        return t
    }

    private static func address(_ a: SocketAddress?) -> String {
        guard let a else { return "unix" }
        return a.ipAddress ?? "unix"
    }
}
