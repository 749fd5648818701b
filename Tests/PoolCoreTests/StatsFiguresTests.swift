// SHOW STATS figures: sums, averages over a period, and the columns each SHOW lays them out in, name beside value.
import Testing

@testable import PoolCore

@Suite("StatsFigures")
struct StatsFiguresTests {
    static func totals(_ values: [Int]) -> StatsTotals {
        var t = StatsTotals()
        for (f, v) in zip(StatsTotals.fields, values) { t[keyPath: f] = v }
        return t
    }

    /// Totals 1000, 2000, ... and averages 1, 2, ... in figure order: each column's value says which figure it shows.
    static let distinctTotals = totals((1...12).map { $0 * 1000 })
    static let distinctAverages = StatsAverages(delta: totals(Array(1...12)), seconds: 1)

    @Test("sums and differences go figure by figure, logins included")
    func arithmetic() {
        let a = Self.totals([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        let b = Self.totals([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120])
        #expect((a + b).figures == [11, 22, 33, 44, 55, 66, 77, 88, 99, 110, 121, 132])
        #expect((b - a).figures == [9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99, 108])
    }

    struct AverageCase: Sendable {
        var delta: [Int]
        var seconds: Double
        var figures: [Int]
    }

    @Test(arguments: [
        // 30 logins over 15 s: 2 a second; times are per transaction, query and assignment, not per second.
        AverageCase(delta: [10, 20, 40, 1500, 3000, 2000, 800, 500, 15, 5, 45, 30], seconds: 15,
                    figures: [1, 1, 3, 100, 200, 100, 20, 50, 1, 0, 3, 2]),
        AverageCase(delta: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7], seconds: 2, figures: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]),
        // Times with no transaction, query or assignment to share them: 0, not a division by zero.
        AverageCase(delta: [0, 0, 0, 0, 0, 900, 900, 900, 0, 0, 0, 0], seconds: 3, figures: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        // An empty period (the first sample): nothing, whatever the counts.
        AverageCase(delta: [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5], seconds: 0, figures: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ])
    func averages(_ c: AverageCase) {
        #expect(StatsAverages(delta: Self.totals(c.delta), seconds: c.seconds).figures == c.figures)
    }

    @Test("an average is read by its counter's key path")
    func averageByField() {
        let a = StatsAverages(delta: Self.totals([4, 8, 0, 0, 0, 80, 0, 40, 0, 0, 0, 2]), seconds: 4)
        #expect(a[\.serverAssignments] == 1)
        #expect(a[\.xactTime] == 10)
        #expect(a[\.waitTime] == 10)
        #expect(a[\.clientLogins] == 0.5)
    }

    struct ColumnCase: Sendable, CustomTestStringConvertible {
        var view: StatsView
        var column: String
        var value: Int
        var testDescription: String { "\(view) \(column)" }
    }

    @Test("each column shows its own figure", arguments: [
        ColumnCase(view: .stats, column: "total_server_assignment_count", value: 1000),
        ColumnCase(view: .stats, column: "total_received", value: 4000),
        ColumnCase(view: .stats, column: "total_wait_time", value: 8000),
        ColumnCase(view: .stats, column: "total_client_login_count", value: 12000),
        ColumnCase(view: .stats, column: "avg_recv", value: 4),
        ColumnCase(view: .stats, column: "avg_xact_time", value: 3),          // 6 µs over 2 transactions
        ColumnCase(view: .stats, column: "avg_wait_time", value: 8),          // 8 µs over 1 assignment
        ColumnCase(view: .stats, column: "avg_client_login_count", value: 12),
        ColumnCase(view: .stats, column: "total_requests", value: 3000),
        ColumnCase(view: .totals, column: "bytes_received", value: 4000),
        ColumnCase(view: .totals, column: "bytes_sent", value: 5000),
        ColumnCase(view: .totals, column: "client_parse_count", value: 9000),
        ColumnCase(view: .totals, column: "client_login_count", value: 12000),
        ColumnCase(view: .averages, column: "bytes_sent", value: 5),
        ColumnCase(view: .averages, column: "query_time", value: 2),          // 7 µs over 3 queries, rounded
        ColumnCase(view: .averages, column: "avg_server_parse_count", value: 10),
        ColumnCase(view: .averages, column: "avg_bind_count", value: 11),
        ColumnCase(view: .averages, column: "client_login_count", value: 12),
    ])
    func columnValue(_ c: ColumnCase) {
        let names = c.view.columns.map(\.name)
        let row = c.view.row(Self.distinctTotals, Self.distinctAverages)
        #expect(row.count == names.count)
        #expect(names.firstIndex(of: c.column).map { row[$0] } == c.value)
    }

    @Test("each view names every figure once, in PgBouncer's order, with client logins last among them")
    func views() {
        let n = StatsFigure.all.count
        #expect(StatsView.totals.columns.count == n && StatsView.averages.columns.count == n)
        #expect(StatsView.stats.columns.count == 2 * n + 1)
        for view in StatsView.allCases { #expect(Set(view.columns.map(\.name)).count == view.columns.count, "\(view)") }
        #expect(StatsView.stats.columns[n - 1].name == "total_client_login_count")
        #expect(StatsView.stats.columns[2 * n - 1].name == "avg_client_login_count")
    }

    @Test("SHOW TOTALS rows: total_ then avg_ for each figure, under its own row name")
    func totalsRows() {
        let rows = StatsView.totalsRows(Self.distinctTotals, Self.distinctAverages)
        let values = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0.value) })
        #expect(rows.count == 2 * StatsFigure.all.count)
        #expect(values["total_client_bytes"] == 4000 && values["total_server_bytes"] == 5000)
        #expect(values["total_ps_bind_count"] == 11000 && values["avg_ps_bind_count"] == 11)
        #expect(values["avg_query_time"] == 2 && values["avg_client_login_count"] == 12)
    }
}
