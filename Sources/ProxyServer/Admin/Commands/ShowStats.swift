// SHOW STATS, STATS_TOTALS, STATS_AVERAGES and TOTALS: traffic per database since start, and over the last stats_period.
import Foundation
import NIOCore
import PoolCore

enum ShowStats: AdminCommand {
    static let name = "SHOW STATS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let averages = call.runtime.stats.averages
        return StatsSampler.totals(call.runtime).map { totals in
            var t = AdminTable(
                [("database", .text)] + (StatsColumns.statsTotals + StatsColumns.statsAverages).map { ($0, .numeric) }
                    // Read by older exporters (Debian's prometheus-pgbouncer-exporter 1.7); PgBouncer 1.8 split it into xact/query.
                    + [("total_requests", .numeric)])
            for db in totals.keys.sorted() {
                let total = totals[db]!
                let average = averages[db] ?? StatsAverages()
                t.add([.text(db)] + (total.figures + average.figures).map { .int($0) } + [.int(total.queries)])
            }
            return .table(t)
        }
    }
}

enum ShowStatsTotals: AdminCommand {
    static let name = "SHOW STATS_TOTALS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        StatsSampler.totals(call.runtime).map { totals in
            var t = AdminTable([("database", .text)] + StatsColumns.totalsOnly.map { ($0, .numeric) })
            for db in totals.keys.sorted() { t.add([.text(db)] + totals[db]!.figures.map { .int($0) }) }
            return .table(t)
        }
    }
}

enum ShowStatsAverages: AdminCommand {
    static let name = "SHOW STATS_AVERAGES"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let averages = call.runtime.stats.averages
        return StatsSampler.totals(call.runtime).map { totals in
            var t = AdminTable([("database", .text)] + StatsColumns.averagesOnly.map { ($0, .numeric) })
            for db in totals.keys.sorted() { t.add([.text(db)] + (averages[db] ?? StatsAverages()).figures.map { .int($0) }) }
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
            var t = AdminTable([("name", .text), ("value", .numeric)])
            for (n, v) in zip(StatsColumns.totalsRows, sum.figures) { t.add([.text("total_\(n)"), .int(v)]) }
            for (n, v) in zip(StatsColumns.totalsRows, avg.figures) { t.add([.text("avg_\(n)"), .int(v)]) }
            return .table(t)
        }
    }
}
