// Tuning advice from what the proxy measured: a pure function of pool peaks, waits, timeouts and limits.
import Config

/// One pool as the advisor sees it, over the last two stats periods.
public struct PoolLoad: Sendable, Equatable {
    public var database: String
    public var user: String
    public var size: Int
    /// True when the size comes from default_pool_size (SET can change it); false when a database or user line sets it.
    public var sizeFromDefault: Bool
    public var peakActive: Int
    public var peakWaiting: Int
    /// Mean wait for a server per assignment over the last stats period, for the pool's database.
    public var averageWaitMs: Double
    public var assignmentsPerSecond: Double
    /// Clients of this pool that gave up at query_wait_timeout over the last two stats periods.
    public var queryWaitTimeouts: Int
    public var poolMode: String

    public init(database: String, user: String, size: Int, sizeFromDefault: Bool, peakActive: Int, peakWaiting: Int,
                averageWaitMs: Double, assignmentsPerSecond: Double, queryWaitTimeouts: Int, poolMode: String) {
        self.database = database
        self.user = user
        self.size = size
        self.sizeFromDefault = sizeFromDefault
        self.peakActive = peakActive
        self.peakWaiting = peakWaiting
        self.averageWaitMs = averageWaitMs
        self.assignmentsPerSecond = assignmentsPerSecond
        self.queryWaitTimeouts = queryWaitTimeouts
        self.poolMode = poolMode
    }

    /// Every server in use and clients made to wait for one.
    var saturated: Bool { size > 0 && peakActive >= size && (peakWaiting > 0 || averageWaitMs >= 1 || queryWaitTimeouts > 0) }
}

public struct TuningInput: Sendable {
    public var pools: [PoolLoad]
    /// Current values of the settings the advice may touch, as SHOW CONFIG prints them.
    public var settings: [String: String]
    /// Clients closed by each timeout since the start, summed over databases.
    public var timeouts: [String: Int]
    public var clientsConnected: Int
    public var serversOpen: Int
    public var fileDescriptorLimit: Int
    public var clientParsesPerSecond: Double
    public var serverParsesPerSecond: Double

    public init(pools: [PoolLoad], settings: [String: String], timeouts: [String: Int], clientsConnected: Int, serversOpen: Int,
                fileDescriptorLimit: Int, clientParsesPerSecond: Double, serverParsesPerSecond: Double) {
        self.pools = pools
        self.settings = settings
        self.timeouts = timeouts
        self.clientsConnected = clientsConnected
        self.serversOpen = serversOpen
        self.fileDescriptorLimit = fileDescriptorLimit
        self.clientParsesPerSecond = clientParsesPerSecond
        self.serverParsesPerSecond = serverParsesPerSecond
    }

    func int(_ key: String) -> Int { settings[key].flatMap { Int($0) } ?? 0 }
}

public enum TuningAdvisor {
    public static func advise(_ input: TuningInput) -> [TuningRecommendation] {
        var out: [TuningRecommendation] = []
        out += poolSizes(input)
        out += poolModes(input)
        out += clientLimit(input)
        out += preparedStatements(input)
        if let n = input.timeouts["query_timeout"], n > 0, input.int("query_timeout") > 0 {
            let current = input.int("query_timeout")
            out.append(TuningRecommendation(
                setting: "query_timeout", current: String(current), recommended: String(current * 2),
                reason: "\(n) client(s) were disconnected because a query ran longer than query_timeout (\(current) s); if such queries are expected, raise it, otherwise find them in the query statistics",
                safe: false))
        }
        return out
    }

    private static func poolSizes(_ input: TuningInput) -> [TuningRecommendation] {
        var out: [TuningRecommendation] = []
        let current = input.int("default_pool_size")
        let cap = input.int("max_db_connections")
        let full = input.pools.filter(\.saturated)
        for p in full where !p.sizeFromDefault {
            out.append(TuningRecommendation(
                setting: "pool_size (database \(p.database))", current: String(p.size), recommended: String(grown(p.size, cap: cap)),
                reason: waitReason(p) + "; this size is set on the database or user line, so change it in the file and RELOAD",
                safe: false))
        }
        let fullDefault = full.filter(\.sizeFromDefault)
        if let worst = fullDefault.max(by: { $0.averageWaitMs < $1.averageWaitMs }) {
            let target = grown(current, cap: cap)
            if target > current {
                out.append(TuningRecommendation(setting: "default_pool_size", current: String(current), recommended: String(target),
                                                reason: waitReason(worst), safe: true))
            } else {
                out.append(TuningRecommendation(
                    setting: "max_db_connections", current: String(cap), recommended: String(cap + cap / 2),
                    reason: waitReason(worst) + "; the pool cannot grow past max_db_connections (\(cap)): check PostgreSQL's max_connections first",
                    safe: false))
            }
            return out
        }
        // Shrink only on evidence: every default-size pool saw traffic and used at most a quarter of its servers.
        let defaults = input.pools.filter { $0.sizeFromDefault }
        guard full.isEmpty, !defaults.isEmpty, current > 10, defaults.allSatisfy({ $0.assignmentsPerSecond > 0 && $0.peakWaiting == 0 }) else {
            return out
        }
        let peak = defaults.map(\.peakActive).max() ?? 0
        let target = max(peak * 2, 5, input.int("min_pool_size"))
        if peak * 4 <= current, target < current {
            out.append(TuningRecommendation(
                setting: "default_pool_size", current: String(current), recommended: String(target),
                reason: "servers sit idle: at most \(peak) of \(current) were in use at once in any pool over the last two stats periods, with no client waiting; fewer server connections leave PostgreSQL more memory",
                safe: true))
        }
        return out
    }

    /// Half as large again (at least two more), within max_db_connections when that is set.
    private static func grown(_ size: Int, cap: Int) -> Int {
        let target = max(size + size / 2, size + 2)
        return cap > 0 ? min(target, cap) : target
    }

    private static func waitReason(_ p: PoolLoad) -> String {
        var parts = ["all \(p.size) servers of pool \(p.database)/\(p.user) were in use"]
        if p.peakWaiting > 0 { parts.append("up to \(p.peakWaiting) client(s) queued") }
        if p.averageWaitMs >= 1 { parts.append("clients waited \(formatMs(p.averageWaitMs)) ms on average for a server") }
        if p.queryWaitTimeouts > 0 { parts.append("\(p.queryWaitTimeouts) client(s) gave up at query_wait_timeout") }
        return parts.joined(separator: ", ")
    }

    private static func poolModes(_ input: TuningInput) -> [TuningRecommendation] {
        input.pools.filter { $0.poolMode == "session" && $0.saturated }.map { p in
            TuningRecommendation(
                setting: "pool_mode (database \(p.database))", current: "session", recommended: "transaction",
                reason: "pool \(p.database)/\(p.user) runs out of servers in session mode, where each client holds one for its whole connection; transaction mode shares them between transactions (pgswift carries prepared statements and settings), but check that the application does not rely on other session state",
                safe: false)
        }
    }

    private static func clientLimit(_ input: TuningInput) -> [TuningRecommendation] {
        let max = input.int("max_client_conn")
        guard max > 0, input.clientsConnected * 5 >= max * 4 else { return [] }
        let target = max * 2
        // Each client and server is a descriptor; keep a margin for listeners, logs and the status port.
        let fits = input.fileDescriptorLimit <= 0 || target + input.serversOpen + 64 <= input.fileDescriptorLimit
        return [TuningRecommendation(
            setting: "max_client_conn", current: String(max), recommended: String(target),
            reason: "\(input.clientsConnected) of \(max) client connections are in use; new clients are refused at the limit"
                + (fits ? "" : " (the process may open only \(input.fileDescriptorLimit) files: raise its limit first)"),
            safe: fits)]
    }

    private static func preparedStatements(_ input: TuningInput) -> [TuningRecommendation] {
        let current = input.int("max_prepared_statements")
        guard current > 0, current < 10_000, input.serverParsesPerSecond >= 10, input.serverParsesPerSecond > 2 * input.clientParsesPerSecond else { return [] }
        return [TuningRecommendation(
            setting: "max_prepared_statements", current: String(current), recommended: String(min(current * 2, 10_000)),
            reason: "servers prepare statements \(formatMs(input.serverParsesPerSecond)) times a second against \(formatMs(input.clientParsesPerSecond)) client Parses: statements are evicted and prepared again; a larger cache per server avoids it",
            safe: true)]
    }

    static func formatMs(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
