// Gathers what the tuning advice is drawn from, and applies the safe recommendations as the admin console's SET would.
import Config
import PoolCore
import StatusHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProxyRuntime {
    /// Settings the advice reads or may change.
    static let tunedSettings = ["default_pool_size", "min_pool_size", "max_db_connections", "max_client_conn", "max_prepared_statements", "query_timeout",
                                "query_wait_timeout", "reserve_pool_size"]

    func tuningInput() async -> TuningInput {
        let snapshot = await metricsSnapshot()
        let config = self.config
        let averages = stats.averages
        var timeouts: [String: Int] = [:]
        for (key, n) in snapshot.timeouts { timeouts[key.code, default: 0] += n }
        let pools = homePools.compactMap { pool -> PoolLoad? in
            guard let entry = config.database(named: pool.key.database) else { return nil }
            let peaks = pool.peaks
            let a = averages[pool.key.database] ?? StatsAverages()
            return PoolLoad(
                database: pool.key.database, user: pool.key.user, size: pool.counts(now: now()).size,
                sizeFromDefault: config.users[pool.key.user]?.poolSize == nil && entry.poolSize == nil,
                peakActive: peaks.recentActive, peakWaiting: peaks.recentWaiting, averageWaitMs: a[\.waitTime] / 1000,
                assignmentsPerSecond: a[\.serverAssignments],
                queryWaitTimeouts: peaks.recentWaitTimeouts,
                poolMode: poolMode(entry: entry, user: pool.key.user, config: config).rawValue)
        }.sorted { ($0.database, $0.user) < ($1.database, $1.user) }
        var settings: [String: String] = [:]
        for key in Self.tunedSettings { settings[key] = config.settings[key]?.text }
        var limit = rlimit()
        let files = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(clamping: limit.rlim_cur) : 0
        let overall = stats.overall
        return TuningInput(
            pools: pools, settings: settings, timeouts: timeouts, clientsConnected: snapshot.clientsTotal,
            serversOpen: snapshot.pools.reduce(0) { $0 + $1.servers.values.reduce(0, +) }, fileDescriptorLimit: files,
            clientParsesPerSecond: overall[\.clientParses], serverParsesPerSecond: overall[\.serverParses])
    }

    /// The advice, after applying its safe recommendations when asked to (each checked as SET checks it; logged).
    func tune(apply: Bool) async -> TuningReport {
        let advice = TuningAdvisor.advise(await tuningInput())
        guard apply else { return TuningReport(recommendations: advice) }
        var applied: [(setting: String, value: String, error: String?)] = []
        for r in advice where r.safe {
            switch changeSetting(r.setting, to: r.recommended) {
            case .failure(let m):
                applied.append((r.setting, r.recommended, m.text))
            case .success:
                logger.info("SET \(r.setting) = \(r.recommended) from the status port's tuning advice (was \(r.current)): \(r.reason)")
                applied.append((r.setting, r.recommended, nil))
            }
        }
        return TuningReport(recommendations: advice, applied: applied)
    }
}
