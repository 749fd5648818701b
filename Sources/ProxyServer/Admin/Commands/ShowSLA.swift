// SHOW SLA: the status port's latency percentiles and SLA compliance, per database and over all of them ("*").
import NIOCore
import StatusHTTP

enum ShowSLA: AdminCommand {
    static let name = "SHOW SLA"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        return call.answer {
            let report = await runtime.performance(targets: runtime.slaTargets)
            var t = AdminTable([
                ("database", .text), ("window_seconds", .int4), ("queries", .int8), ("queries_per_second", .numeric),
                ("p50_ms", .numeric), ("p95_ms", .numeric), ("p99_ms", .numeric),
                ("target_p50_ms", .numeric), ("target_p95_ms", .numeric), ("target_p99_ms", .numeric), ("compliant", .text), ("missed", .text),
            ])
            let targets = report.targets
            for (name, s) in [("*", report.overall)] + report.databases.map({ ($0.name, $0.latency) }) {
                let c = targets.compliance(s)
                let missed = [("p50", c.p50), ("p95", c.p95), ("p99", c.p99)].filter { !$0.1 }.map(\.0).joined(separator: ",")
                let d = PerformanceReport.decimal
                t.add([
                    .text(name), .int(Int(report.windowSeconds)), .int(Int(s.queries)), .text(d(s.queriesPerSecond, 2)),
                    .text(d(s.p50Ms, 3)), .text(d(s.p95Ms, 3)), .text(d(s.p99Ms, 3)),
                    .text(d(targets.p50Ms, 3)), .text(d(targets.p95Ms, 3)), .text(d(targets.p99Ms, 3)),
                    .text(missed.isEmpty ? "yes" : "no"), .text(missed),
                ])
            }
            return .table(t)
        }
    }
}
