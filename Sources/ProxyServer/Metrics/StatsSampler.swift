// Totals per database summed over every event loop, and the averages of the last stats_period, for SHOW STATS.
import NIOConcurrencyHelpers
import NIOCore
import PoolCore

final class StatsSampler: Sendable {
    private struct Sample {
        var at: NIODeadline
        var totals: [String: StatsTotals]
        var averages: [String: StatsAverages]
        /// Over all databases together (SHOW TOTALS, the log line).
        var overall: StatsAverages
    }

    private let last = NIOLockedValueBox(Sample(at: .now(), totals: [:], averages: [:], overall: StatsAverages()))

    /// Current totals per database.
    static func totals(_ runtime: ProxyRuntime) -> EventLoopFuture<[String: StatsTotals]> {
        runtime.gather { [$0.totalsByDatabase()] }.map { parts in
            parts.reduce(into: [:]) { sum, part in
                for (db, t) in part { sum[db] = (sum[db] ?? StatsTotals()) + t }
            }
        }
    }

    /// Called every stats_period: the averages SHOW STATS reports are those of the period just ended.
    func sample(_ runtime: ProxyRuntime) {
        for pool in runtime.allPools { pool.rollPeaks() }
        Self.totals(runtime).whenSuccess { [self] totals in
            last.withLockedValue { s in
                let now = NIODeadline.now()
                let seconds = Double((now - s.at).nanoseconds) / 1e9
                let s0 = s.totals.values.reduce(StatsTotals(), +)
                var averages: [String: StatsAverages] = [:]
                for (db, t) in totals { averages[db] = StatsAverages(delta: t - (s.totals[db] ?? StatsTotals()), seconds: seconds) }
                let all = StatsAverages(delta: totals.values.reduce(StatsTotals(), +) - s0, seconds: seconds)
                s = Sample(at: now, totals: totals, averages: averages, overall: all)
                if runtime.settings.logStats {
                    runtime.logger.info("stats: \(Int(all[\.xacts])) xacts/s, \(Int(all[\.queries])) queries/s, \(Int(all[\.clientParses])) client parses/s, \(Int(all[\.serverParses])) server parses/s, \(Int(all[\.binds])) binds/s, in \(Int(all[\.received])) B/s, out \(Int(all[\.sent])) B/s, xact \(Int(all[\.xactTime])) us, query \(Int(all[\.queryTime])) us, wait \(Int(all[\.waitTime])) us")
                }
            }
        }
    }

    var averages: [String: StatsAverages] { last.withLockedValue { $0.averages } }
    var overall: StatsAverages { last.withLockedValue { $0.overall } }
}
