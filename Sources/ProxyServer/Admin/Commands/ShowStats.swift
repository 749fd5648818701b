// SHOW STATS, STATS_TOTALS, STATS_AVERAGES and TOTALS: traffic per database since start, and over the last stats_period.
import Foundation
import NIOCore

enum ShowStats: AdminCommand {
    static let name = "SHOW STATS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let averages = call.runtime.stats.averages
        return StatsSampler.totals(call.runtime).map { totals in
            var t = AdminTable(
                [("database", .text)] + StatsColumns.totalNames.map { ("total_\($0)", .numeric) }
                    + StatsColumns.averageNames.map { ("avg_\($0)", .numeric) }
                    // Read by older exporters (Debian's prometheus-pgbouncer-exporter 1.7); PgBouncer 1.8 split it into xact/query.
                    + [("total_requests", .numeric)])
            for db in totals.keys.sorted() {
                let total = totals[db]!
                t.add([.text(db)] + StatsColumns.totals(total) + StatsColumns.averages(averages[db] ?? StatsAverages()) + [.int(total.queries)])
            }
            return .table(t)
        }
    }
}

enum ShowStatsTotals: AdminCommand {
    static let name = "SHOW STATS_TOTALS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        StatsSampler.totals(call.runtime).map { totals in
            var t = AdminTable([("database", .text)] + StatsColumns.plainNames.map { ($0, .numeric) })
            for db in totals.keys.sorted() { t.add([.text(db)] + StatsColumns.totals(totals[db]!)) }
            return .table(t)
        }
    }
}

enum ShowStatsAverages: AdminCommand {
    static let name = "SHOW STATS_AVERAGES"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let averages = call.runtime.stats.averages
        return StatsSampler.totals(call.runtime).map { totals in
            // PgBouncer's names here: the last three keep an avg_ prefix, the others do not.
            let names = Array(StatsColumns.plainNames.prefix(8)) + ["avg_client_parse_count", "avg_server_parse_count", "avg_bind_count"]
            var t = AdminTable([("database", .text)] + names.map { ($0, .numeric) })
            for db in totals.keys.sorted() { t.add([.text(db)] + StatsColumns.averages(averages[db] ?? StatsAverages())) }
            return .table(t)
        }
    }
}

enum ShowTotals: AdminCommand {
    static let name = "SHOW TOTALS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let avg = call.runtime.stats.overall
        return StatsSampler.totals(call.runtime).map { totals in
            let sum = totals.values.reduce(StatsTotals(), +)
            let names = ["server_assignment_count", "xact_count", "query_count", "client_bytes", "server_bytes", "xact_time", "query_time",
                         "wait_time", "ps_client_parse_count", "ps_server_parse_count", "ps_bind_count"]
            var t = AdminTable([("name", .text), ("value", .numeric)])
            for (n, v) in zip(names, StatsColumns.totals(sum)) { t.add([.text("total_\(n)"), v]) }
            for (n, v) in zip(names, StatsColumns.averages(avg)) { t.add([.text("avg_\(n)"), v]) }
            return .table(t)
        }
    }
}

/// The eleven figures in PgBouncer 1.25's column order.
enum StatsColumns {
    static let plainNames = ["server_assignment_count", "xact_count", "query_count", "bytes_received", "bytes_sent", "xact_time",
                             "query_time", "wait_time", "client_parse_count", "server_parse_count", "bind_count"]
    static let totalNames = ["server_assignment_count", "xact_count", "query_count", "received", "sent", "xact_time", "query_time",
                             "wait_time", "client_parse_count", "server_parse_count", "bind_count"]
    static let averageNames = ["server_assignment_count", "xact_count", "query_count", "recv", "sent", "xact_time", "query_time",
                               "wait_time", "client_parse_count", "server_parse_count", "bind_count"]

    static func totals(_ t: StatsTotals) -> [AdminValue] {
        StatsTotals.fields.map { .int(t[keyPath: $0]) }
    }

    static func averages(_ a: StatsAverages) -> [AdminValue] {
        [a.serverAssignments, a.xacts, a.queries, a.received, a.sent, a.xactTime, a.queryTime, a.waitTime, a.clientParses,
         a.serverParses, a.binds].map { .int(Int($0.rounded())) }
    }
}
