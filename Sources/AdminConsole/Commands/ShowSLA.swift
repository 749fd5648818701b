// SHOW SLA: the status port's latency percentiles and SLA compliance, per database and over all of them ("*").

enum ShowSLA: AdminCommand {
    static let name = "SHOW SLA"

    static func run(_ call: AdminCall) async -> AdminReply {
        let report = await call.runtime.sla()
        var t = AdminTable([
            ("database", .text), ("window_seconds", .int4), ("queries", .int8), ("queries_per_second", .numeric),
            ("p50_ms", .numeric), ("p95_ms", .numeric), ("p99_ms", .numeric),
            ("target_p50_ms", .numeric), ("target_p95_ms", .numeric), ("target_p99_ms", .numeric), ("compliant", .text), ("missed", .text),
        ])
        let targets = report.targets
        for r in report.rows {
            t.add([
                .text(r.database), .int(report.windowSeconds), .int(r.queries), .text(r.queriesPerSecond),
                .text(r.p50Ms), .text(r.p95Ms), .text(r.p99Ms), .text(targets.p50Ms), .text(targets.p95Ms), .text(targets.p99Ms),
                .text(r.missed.isEmpty ? "yes" : "no"), .text(r.missed.joined(separator: ",")),
            ])
        }
        return .table(t)
    }
}
