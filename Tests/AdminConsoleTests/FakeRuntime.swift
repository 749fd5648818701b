// An AdminRuntime made of values: what the commands read is set by each test, and every verb is recorded.
import AdminConsole
import Config
import Foundation
import Logging
import PGWire
import PoolCore
import Synchronization

final class FakeRuntime: AdminRuntime {
    /// What a verb was asked to do, in order.
    enum Call: Equatable {
        case pause(Bool)
        case pauseDatabase(String, Bool)
        case disable(String, Bool)
        case kill(Set<String>, PGError)
        case killClient(Int, PGError)
        case reconnect(String?)
        case drain(Bool, String, String, Int)
        case reload
        case shutdown(ShutdownMode)
        case set(String, String)
        case cacheClear
        case cacheInvalidate(AdminCacheTarget)
    }

    struct State {
        var paused = false
        var pausedDatabases: Set<String> = []
        var clients: [AdminConnection] = []
        /// Each servers() call takes the first entry while more than one is left, so a test can make servers settle.
        var serverSnapshots: [[AdminConnection]] = [[]]
        var serverReads = 0
        var pools: [AdminPool] = []
        var databases: [AdminDatabase] = []
        var users = AdminUsers()
        var totals: [String: StatsTotals] = [:]
        var averages = AdminAverages()
        var statements: [AdminPreparedStatement] = []
        var memory = AdminMemory(pools: .init(size: 0, used: 0), servers: .init(size: 0, used: 0), clients: .init(size: 0, used: 0),
                                 preparedStatements: .init(size: 0, used: 0))
        var cacheTiers: [AdminCacheTier] = []
        var cacheCandidates: [AdminCacheCandidate] = []
        var sla = AdminSLA(windowSeconds: 60, targets: .init(p50Ms: "100", p95Ms: "300", p99Ms: "500"), rows: [])
        var tuning: [TuningRecommendation] = []
        var nodes: [AdminNode] = []
        var killableClients: Set<Int> = []
        var reloadSucceeds = true
        var canShutdown = true
        /// Settings SET refuses, with the reason.
        var refusedSettings: [String: String] = [:]
        /// Makes every snapshot that visits the loops throw.
        var loopsGone = false
        var calls: [Call] = []
    }

    struct LoopsGone: Error, CustomStringConvertible {
        var description: String { "event loops stopped" }
    }

    let state: Mutex<State>
    let config: ProxyConfig
    let versions = AdminVersions(pgswift: "9.8.7", pgbouncer: "1.25.0")
    let logged = LogRecord()
    var logger: Logger { Logger(label: "admin-test") { _ in RecordingLogHandler(record: self.logged) } }

    init(config: ProxyConfig = TestConfig.standard, _ setUp: (inout State) -> Void = { _ in }) {
        var s = State()
        setUp(&s)
        self.state = Mutex(s)
        self.config = config
    }

    var calls: [Call] { state.withLock { $0.calls } }
    var serverReads: Int { state.withLock { $0.serverReads } }

    private func record(_ call: Call) { state.withLock { $0.calls.append(call) } }

    private func visit<T>(_ read: (inout State) -> T) throws -> T {
        try state.withLock { s in
            if s.loopsGone { throw LoopsGone() }
            return read(&s)
        }
    }

    // MARK: Snapshots

    var isPaused: Bool { state.withLock { $0.paused } }
    func clients() async throws -> [AdminConnection] { try visit { $0.clients } }

    func servers() async throws -> [AdminConnection] {
        try visit { s in
            s.serverReads += 1
            return s.serverSnapshots.count > 1 ? s.serverSnapshots.removeFirst() : s.serverSnapshots[0]
        }
    }

    var pools: [AdminPool] { state.withLock { $0.pools } }
    var databases: [AdminDatabase] { state.withLock { $0.databases } }
    var users: AdminUsers { state.withLock { $0.users } }
    func statsTotals() async throws -> [String: StatsTotals] { try visit { $0.totals } }
    var statsAverages: AdminAverages { state.withLock { $0.averages } }
    func preparedStatements() async throws -> [AdminPreparedStatement] { try visit { $0.statements } }
    func memory() async throws -> AdminMemory { try visit { $0.memory } }
    func sla() async -> AdminSLA { state.withLock { $0.sla } }
    func tuning() async -> [TuningRecommendation] { state.withLock { $0.tuning } }
    func nodes() async throws -> [AdminNode] { try visit { $0.nodes } }
    func cacheTiers() async throws -> [AdminCacheTier] { try visit { $0.cacheTiers } }
    func cacheCandidates() async throws -> [AdminCacheCandidate] { try visit { $0.cacheCandidates } }

    // MARK: Verbs

    func setPaused(_ on: Bool) {
        state.withLock { $0.paused = on }
        record(.pause(on))
    }

    func setPaused(_ on: Bool, database: String) -> Bool {
        record(.pauseDatabase(database, on))
        return state.withLock { s in
            on ? s.pausedDatabases.insert(database).inserted : s.pausedDatabases.remove(database) != nil
        }
    }

    func setDisabled(_ on: Bool, database: String) { record(.disable(database, on)) }

    func kill(databases: Set<String>, reason: PGError) async throws { record(.kill(databases, reason)) }

    func killClient(id: Int, reason: PGError) async throws -> Bool {
        record(.killClient(id, reason))
        return state.withLock { $0.killableClients.contains(id) }
    }

    func reconnect(database: String?) async throws { record(.reconnect(database)) }

    func cacheClear() async throws -> Int {
        record(.cacheClear)
        return 0
    }

    func cacheInvalidate(_ target: AdminCacheTarget) async throws -> Int {
        record(.cacheInvalidate(target))
        return 0
    }

    func setDrained(_ on: Bool, database: String, host: String, port: Int) async throws -> Bool {
        record(.drain(on, database, host, port))
        return state.withLock { $0.nodes.contains { $0.database == database && $0.host == host && $0.port == port } }
    }

    func reload() -> Bool {
        record(.reload)
        return state.withLock { $0.reloadSucceeds }
    }

    func shutdown(_ mode: ShutdownMode) -> Bool {
        guard state.withLock({ $0.canShutdown }) else { return false }
        record(.shutdown(mode))
        return true
    }

    func set(_ key: String, to value: String) -> Result<Void, ConfigMessage> {
        record(.set(key, value))
        if let reason = state.withLock({ $0.refusedSettings[key] }) { return .failure(ConfigMessage(reason)) }
        return .success(())
    }
}

/// The lines a fake runtime's logger received.
final class LogRecord: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var text: String
    }

    private let lines = Mutex<[Line]>([])

    func append(_ level: Logger.Level, _ text: String) { lines.withLock { $0.append(Line(level: level, text: text)) } }
    var all: [Line] { lines.withLock { $0 } }
}

struct RecordingLogHandler: LogHandler {
    let record: LogRecord
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) { record.append(event.level, event.message.description) }
}
