// The one way the console reaches the running proxy: snapshots as plain values, and the verbs its commands need.
import Config
import Logging
import PGWire
import PoolCore

/// Implemented by the proxy (ProxyServer's `RuntimeConsole`). Snapshots that must visit the event loops are async;
/// they throw only when the loops are gone (the process is stopping).
public protocol AdminRuntime: Sendable {
    // MARK: What the proxy is

    /// pgswift's release and the PgBouncer release whose console it follows.
    var versions: AdminVersions { get }
    var config: ProxyConfig { get }
    /// Control commands log what they did here, as PgBouncer does.
    var logger: Logger { get }

    // MARK: Snapshots

    /// The whole pooler is paused (PAUSE without a database, SIGUSR1).
    var isPaused: Bool { get }
    /// Every client that completed its startup packet, the console's sessions included.
    func clients() async throws -> [AdminConnection]
    func servers() async throws -> [AdminConnection]
    /// Every pool created so far, whether or not it has connections now.
    var pools: [AdminPool] { get }
    /// One per [databases] entry (not "*"'s resolutions).
    var databases: [AdminDatabase] { get }
    var users: AdminUsers { get }
    /// Traffic since start per database, summed over the event loops.
    func statsTotals() async throws -> [String: StatsTotals]
    /// Averages of the last stats_period.
    var statsAverages: AdminAverages { get }
    func preparedStatements() async throws -> [AdminPreparedStatement]
    func memory() async throws -> AdminMemory
    /// The status port's latency report (SHOW SLA) and tuning advice (SHOW TUNING).
    func sla() async -> AdminSLA
    func tuning() async -> [TuningRecommendation]
    /// The hosts of entries with several hosts (SHOW NODES), by database then in the order written.
    func nodes() async throws -> [AdminNode]
    /// The result cache's tiers (SHOW CACHE): l1 always, l2 and l3 when configured.
    func cacheTiers() async throws -> [AdminCacheTier]
    /// Safe reads no rule covers, by fingerprint (SHOW CACHE_CANDIDATES), summed over the loops.
    func cacheCandidates() async throws -> [AdminCacheCandidate]

    // MARK: Verbs

    /// Pauses or resumes the whole pooler.
    func setPaused(_ on: Bool)
    /// Drops every cached answer in every tier; how many the in-process tier held.
    func cacheClear() async throws -> Int
    /// Drops the answers `target` names (and moves the versions of a named table); how many went from the loops.
    func cacheInvalidate(_ target: AdminCacheTarget) async throws -> Int
    /// Pauses or resumes one database; false if it already was in that state.
    func setPaused(_ on: Bool, database: String) -> Bool
    func setDisabled(_ on: Bool, database: String)
    /// Closes every client (told `reason`) and server of these databases.
    func kill(databases: Set<String>, reason: PGError) async throws
    /// Closes one client, told `reason`; false if no client has that id.
    func killClient(id: Int, reason: PGError) async throws -> Bool
    /// Closes the idle servers of a database (or all) now, and each busy one when its client gives it back.
    func reconnect(database: String?) async throws
    /// DRAIN NODE: no new server connections to that host of the entry's list, its idle ones closed, busy ones
    /// closed when given back; UNDRAIN NODE lifts it. False when the entry lists no such host.
    func setDrained(_ on: Bool, database: String, host: String, port: Int) async throws -> Bool
    /// Rereads the config file; false if it was invalid or reloading is not possible.
    func reload() -> Bool
    /// False if this process cannot be shut down from the console.
    func shutdown(_ mode: ShutdownMode) -> Bool
    /// Changes one setting, checked as the file would be.
    func set(_ key: String, to value: String) -> Result<Void, ConfigMessage>
}

public struct AdminVersions: Sendable, Equatable {
    public var pgswift: String
    public var pgbouncer: String

    public init(pgswift: String, pgbouncer: String) {
        self.pgswift = pgswift
        self.pgbouncer = pgbouncer
    }
}

/// How SHUTDOWN (and the signals) stop the process.
public enum ShutdownMode: Sendable, Equatable {
    /// Exit at once (PgBouncer's plain SHUTDOWN).
    case immediate
    /// Stop taking connections and exit once clients are gone (up to shutdown_timeout).
    case waitForClients
    /// The same, pausing first so servers are given back and not leased again.
    case waitForServers
}
