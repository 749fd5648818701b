// SHOW CACHE (pgswift's own): the result cache, one row per tier, with its size, traffic and look-up times.

enum ShowCache: AdminCommand {
    static let name = "SHOW CACHE"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        var t = AdminTable([("tier", .text), ("entries", .int8), ("bytes", .int8), ("max_bytes", .int8), ("hits", .int8),
                            ("misses", .int8), ("hit_ratio", .numeric), ("evictions", .int8), ("stored", .int8),
                            ("not_kept", .int8), ("p50_ms", .numeric), ("p99_ms", .numeric), ("errors", .int8), ("state", .text)])
        for r in try await call.runtime.cacheTiers() {
            let asked = r.hits + r.misses
            let ratio: AdminValue = asked > 0 ? .text(String(format: "%.3f", Double(r.hits) / Double(asked))) : .null
            func ms(_ v: Double?) -> AdminValue { v.map { .text(String(format: "%.3f", $0)) } ?? .null }
            t.add([.text(r.tier), .int(r.entries), .int(r.bytes), .int(r.maxBytes), .int(r.hits), .int(r.misses), ratio,
                   .int(r.evictions), .int(r.stored), .int(r.notKept), ms(r.p50Milliseconds), ms(r.p99Milliseconds),
                   .int(r.errors), .text(r.state)])
        }
        return .table(t)
    }
}
