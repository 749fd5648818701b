// SHOW STATS and friends through the console: one row per database, each column holding its own figure.
import AdminConsole
import PoolCore
import Testing

@Suite("SHOW STATS commands")
struct ShowStatsTests {
    /// Every figure different, so a column showing the wrong one is caught.
    static var appTotals: StatsTotals {
        var t = StatsTotals()
        for (i, field) in StatsTotals.fields.enumerated() { t[keyPath: field] = (i + 1) * 1000 }
        return t
    }

    static func runtime() -> FakeRuntime {
        var logins = StatsTotals()
        logins.clientLogins = 3
        logins.received = 70
        var averages = StatsTotals()
        averages.clientLogins = 10
        averages.binds = 40
        averages.queryTime = 300
        averages.queries = 2
        return FakeRuntime { s in
            s.totals = ["appdb": appTotals, "pgbouncer": logins]
            s.averages = AdminAverages(byDatabase: ["appdb": StatsAverages(delta: averages, seconds: 4)],
                                       overall: StatsAverages(delta: averages, seconds: 2))
        }
    }

    @Test("SHOW STATS: totals, averages and total_requests under PgBouncer's names, databases in order")
    func stats() async {
        let t = await table("SHOW STATS", Self.runtime())
        #expect(t.rows.map { $0["database"] } == ["appdb", "pgbouncer"])
        let app = t.row("database", "appdb")
        #expect(app["total_server_assignment_count"] == "1000")
        #expect(app["total_received"] == "4000")
        #expect(app["total_client_login_count"] == "12000")
        #expect(app["total_requests"] == "3000")
        #expect(app["avg_client_login_count"] == "3")     // 10 logins over 4 s, rounded
        #expect(app["avg_query_time"] == "150")           // 300 µs over 2 queries: per query, not per second
        #expect(app["avg_recv"] == "0")
        // A database without a sample yet shows zero averages.
        #expect(t.row("database", "pgbouncer")["avg_bind_count"] == "0")
        #expect(t.row("database", "pgbouncer")["total_client_login_count"] == "3")
    }

    @Test("SHOW STATS_TOTALS and STATS_AVERAGES: the same figures under the split tables' names")
    func splitTables() async {
        let totals = await table("SHOW STATS_TOTALS", Self.runtime()).row("database", "appdb")
        #expect(totals["bytes_received"] == "4000" && totals["client_login_count"] == "12000" && totals["bind_count"] == "11000")
        let averages = await table("SHOW STATS_AVERAGES", Self.runtime()).row("database", "appdb")
        #expect(averages["avg_bind_count"] == "10" && averages["client_login_count"] == "3" && averages["query_time"] == "150")
    }

    @Test("SHOW TOTALS: sums over every database, then the overall averages")
    func totals() async {
        let t = await table("SHOW TOTALS", Self.runtime())
        let values = Dictionary(uniqueKeysWithValues: t.rows.map { ($0["name"]!!, $0["value"]!!) })
        #expect(values["total_client_bytes"] == "4070")
        #expect(values["total_client_login_count"] == "12003")
        #expect(values["avg_client_login_count"] == "5")
        #expect(values["avg_ps_bind_count"] == "20")
        #expect(t.rows.count == 2 * StatsFigure.all.count)
    }
}
