// PgBouncer's averages over the last stats_period, each taken as its figure's row in StatsFigure.all says.

public struct StatsAverages: Sendable, Equatable {
    /// In `StatsFigure.all`'s order.
    public private(set) var values: [Double]

    public init() {
        values = Array(repeating: 0, count: StatsFigure.all.count)
    }

    /// The averages of a period of `seconds` in which the totals grew by `delta`; all zero for an empty period
    /// (the first sample, or a clock that did not move).
    public init(delta: StatsTotals, seconds: Double) {
        values = seconds > 0 ? StatsFigure.all.map { $0.averaged(delta, seconds: seconds) } : Array(repeating: 0, count: StatsFigure.all.count)
    }

    /// One figure's average, named by its counter: `averages[\.xacts]` is transactions per second.
    public subscript(_ field: KeyPath<StatsTotals, Int>) -> Double {
        guard let i = StatsFigure.all.firstIndex(where: { ($0.field as AnyKeyPath) == field }) else { return 0 }
        return values[i]
    }

    /// Rounded as PgBouncer shows them, in `StatsTotals.fields`' order.
    public var figures: [Int] { values.map { Int($0.rounded()) } }
}
