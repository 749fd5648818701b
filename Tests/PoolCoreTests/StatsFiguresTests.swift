// SHOW STATS figures: sums, averages over a period, and the columns PgBouncer 1.25 puts them in.
import Testing

@testable import PoolCore

@Suite("StatsFigures")
struct StatsFiguresTests {
    static func totals(_ values: [Int]) -> StatsTotals {
        var t = StatsTotals()
        for (f, v) in zip(StatsTotals.fields, values) { t[keyPath: f] = v }
        return t
    }

    @Test("every column list has one name per figure, client logins last")
    func columnsMatchFigures() {
        let n = StatsTotals.fields.count
        for names in [StatsColumns.statsTotals, StatsColumns.statsAverages, StatsColumns.totalsOnly, StatsColumns.averagesOnly,
                      StatsColumns.totalsRows] {
            #expect(names.count == n)
            #expect(names.last?.hasSuffix("client_login_count") == true)
        }
        #expect(StatsTotals().figures.count == n)
        #expect(StatsAverages().figures.count == n)
    }

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
        AverageCase(delta: [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5], seconds: 0, figures: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ])
    func averages(_ c: AverageCase) {
        #expect(StatsAverages(delta: Self.totals(c.delta), seconds: c.seconds).figures == c.figures)
    }
}
