// SHOW STATS, STATS_TOTALS, STATS_AVERAGES and TOTALS: traffic per database since start, and over the last stats_period.
import PoolCore

enum ShowStats: AdminCommand {
    static let name = "SHOW STATS"

    static func run(_ call: AdminCall) async throws -> AdminReply { try await StatsTable.make(.stats, call.runtime) }
}

enum ShowStatsTotals: AdminCommand {
    static let name = "SHOW STATS_TOTALS"

    static func run(_ call: AdminCall) async throws -> AdminReply { try await StatsTable.make(.totals, call.runtime) }
}

enum ShowStatsAverages: AdminCommand {
    static let name = "SHOW STATS_AVERAGES"

    static func run(_ call: AdminCall) async throws -> AdminReply { try await StatsTable.make(.averages, call.runtime) }
}

enum ShowTotals: AdminCommand {
    static let name = "SHOW TOTALS"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let overall = call.runtime.statsAverages.overall
        let sum = try await call.runtime.statsTotals().values.reduce(StatsTotals(), +)
        var t = AdminTable([("name", .text), ("value", .numeric)])
        for (name, value) in StatsView.totalsRows(sum, overall) { t.add([.text(name), .int(value)]) }
        return .table(t)
    }
}

/// One row per database that has counters, laid out as the view says.
enum StatsTable {
    static func make(_ view: StatsView, _ runtime: any AdminRuntime) async throws -> AdminReply {
        let averages = runtime.statsAverages.byDatabase
        let totals = try await runtime.statsTotals()
        var t = AdminTable([("database", .text)] + view.columns.map { ($0.name, .numeric) })
        for db in totals.keys.sorted() {
            t.add([.text(db)] + view.row(totals[db]!, averages[db] ?? StatsAverages()).map { .int($0) })
        }
        return .table(t)
    }
}
