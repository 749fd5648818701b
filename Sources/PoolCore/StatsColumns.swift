// The column lists of SHOW STATS, STATS_TOTALS, STATS_AVERAGES and the rows of SHOW TOTALS: a column's name and
// its value come from the same entry, so a header can never be out of step with its row.

public struct StatsColumn: Sendable {
    enum Source: Sendable {
        case total(Int)
        case average(Int)
    }

    public let name: String
    let source: Source

    public func value(_ totals: StatsTotals, _ averages: StatsAverages) -> Int {
        switch source {
        case .total(let i): totals[keyPath: StatsFigure.all[i].field]
        case .average(let i): averages.figures[i]
        }
    }
}

/// Which SHOW: each lays the same figures out under its own names (PgBouncer 1.25's).
public enum StatsView: Sendable, CaseIterable {
    /// SHOW STATS: total_*, then avg_*, then total_requests.
    case stats
    case totals
    case averages

    public var columns: [StatsColumn] {
        let figures = StatsFigure.all.enumerated()
        switch self {
        case .stats:
            return figures.map { StatsColumn(name: "total_" + $1.statsTotal, source: .total($0)) }
                + figures.map { StatsColumn(name: "avg_" + $1.statsAverage, source: .average($0)) }
                // Read by older exporters (Debian's prometheus-pgbouncer-exporter 1.7); PgBouncer 1.8 split it into xact/query.
                + [StatsColumn(name: "total_requests", source: .total(Self.queriesIndex))]
        case .totals:
            return figures.map { StatsColumn(name: $1.totalsColumn, source: .total($0)) }
        case .averages:
            return figures.map { StatsColumn(name: $1.averagesColumn, source: .average($0)) }
        }
    }

    public func row(_ totals: StatsTotals, _ averages: StatsAverages) -> [Int] {
        columns.map { $0.value(totals, averages) }
    }

    private static let queriesIndex = StatsFigure.all.firstIndex { ($0.field as AnyKeyPath) == \StatsTotals.queries }!

    /// SHOW TOTALS: one row per figure, total_* over every database, then avg_* over the last period.
    public static func totalsRows(_ sum: StatsTotals, _ overall: StatsAverages) -> [(name: String, value: Int)] {
        StatsFigure.all.map { ("total_" + $0.totalsRow, sum[keyPath: $0.field]) }
            + zip(StatsFigure.all, overall.figures).map { ("avg_" + $0.totalsRow, $1) }
    }
}
