// SHOW NODES (pgswift's own): each host of the entries with several hosts, with its role, health, circuit, lag and
// the units of work routed there.

enum ShowNodes: AdminCommand {
    static let name = "SHOW NODES"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        var t = AdminTable([
            ("database", .text), ("host", .text), ("port", .int4), ("role", .text), ("state", .text), ("circuit", .text),
            ("wal_lsn", .text), ("lag_bytes", .int8), ("lag_ms", .int8), ("sv_active", .int4), ("sv_idle", .int4),
            ("routed", .int8), ("checked_s_ago", .int4), ("last_error", .text),
        ])
        func optional(_ n: Int?) -> AdminValue { n.map { .int($0) } ?? .null }
        for n in try await call.runtime.nodes() {
            t.add([.text(n.database), .text(n.host), .int(n.port), .text(n.role), .text(n.state), .text(n.circuit),
                   n.walPosition.map { .text($0) } ?? .null, optional(n.lagBytes), optional(n.lagMilliseconds),
                   .int(n.activeServers), .int(n.idleServers), .int(n.routed), optional(n.checkedSecondsAgo), n.lastError.map { .text($0) } ?? .null])
        }
        return .table(t)
    }
}
