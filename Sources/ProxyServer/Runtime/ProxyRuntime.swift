// The shared live state of one running pgswift: config snapshot, pools, event loops, counters.
import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PGWire
import MemcachedClient
import PoolCore
import RedisClient
import Routing
import SessionCore
import Synchronization

/// A config snapshot with the auth_file it names, swapped as one value on reload.
struct LoadedConfig: Sendable {
    var config: ProxyConfig {
        didSet { settings = RuntimeSettings(config) }
    }
    /// What the connection paths read, typed: rebuilt with every change of `config` (reload, SET, tune?apply).
    private(set) var settings: RuntimeSettings

    init(config: ProxyConfig, userlist: [String: StoredSecret], hba: HbaFile?, clientTLS: NIOSSLContext?, serverTLS: NIOSSLContext?) {
        self.config = config
        self.settings = RuntimeSettings(config)
        self.userlist = userlist
        self.hba = hba
        self.clientTLS = clientTLS
        self.serverTLS = serverTLS
    }
    var userlist: [String: StoredSecret]
    var hba: HbaFile?
    var clientTLS: NIOSSLContext?
    var serverTLS: NIOSSLContext?

    static func load(path: String, environment: [String: String]) throws(ConfigErrors) -> LoadedConfig {
        let config = try ConfigLoader.load(path: path, environment: environment)
        let authFile = config.string("auth_file")
        let userlist = authFile.isEmpty ? [:] : try Userlist.load(path: authFile)
        let hbaPath = config.string("auth_hba_file")
        let hba = config.string("auth_type") == "hba" && !hbaPath.isEmpty ? try HbaFile.load(path: hbaPath) : nil
        try checkCacheTiers(config, path: path)
        return LoadedConfig(config: config, userlist: userlist, hba: hba,
                            clientTLS: try TLSSetup.clientSide(config), serverTLS: try TLSSetup.serverSide(config))
    }
}

public final class ProxyRuntime: Sendable {
    let group: any EventLoopGroup
    let loops: [EventLoop]
    let logger: Logger
    /// How servers (and cancel requests) are reached.
    let dialer: ServerDialer
    let cancelRegistry: CancelRegistry
    let budget = ConnectionBudget()
    let statementCatalog = StatementCatalog()
    /// The hosts of entries with several hosts, as their health checks and connects found them.
    let nodes = NodeRegistry()
    let stats = StatsSampler()
    let databases = DatabaseControl()
    /// The result cache's table versions, shared by the loops.
    let cacheVersions = SharedVersions()
    /// The cache's Redis (cache_redis_url), read at start.
    let remoteCache: RemoteCache?
    /// The cache's Memcached (cache_memcached_servers), read at start.
    let memcachedCache: MemcachedCache?
    /// Misses in flight, which identical requests wait for.
    let cacheFlights = CacheFlights()
    /// The catalogs of the databases the cache serves.
    let cacheCatalogs = CacheCatalogs()
    /// The Prometheus registry, when the status port is on.
    let metrics: ProxyMetrics?
    private let registries: [LoopConnections]
    private let controlBox = NIOLockedValueBox<ProxyControl?>(nil)
    var control: ProxyControl? {
        get { controlBox.withLockedValue { $0 } }
        set { controlBox.withLockedValue { $0 = newValue } }
    }
    /// When the process started, for SHOW STATS averages and uptime.
    let startedAt = NIODeadline.now()
    private let current: NIOLockedValueBox<LoadedConfig>
    private let pools = NIOLockedValueBox<[PoolKey: ServerPool]>([:])
    private let counter = NIOLockedValueBox<Int>(0)
    private let clients = NIOLockedValueBox<Int>(0)
    /// While paused, authenticated clients queue here instead of asking a pool for a server.
    private let pausedQueue = NIOLockedValueBox<(on: Bool, queue: [@Sendable () -> Void])>((false, []))
    /// Set once shutdown has begun (listeners closed, clients draining): the status port's /ready answers 503.
    let draining = Atomic<Bool>(false)
    /// Set (before the queue) while the whole pooler is paused: read without a lock on every lease.
    private let pausedFlag = Atomic<Bool>(false)

    /// The process environment: TARGET_P50_MS and friends win over the file.
    let environment: [String: String]

    convenience init(loaded: LoadedConfig, threads: Int, logger: Logger, environment: [String: String] = [:]) {
        self.init(loaded: loaded, group: MultiThreadedEventLoopGroup(numberOfThreads: threads), dialer: .sockets, logger: logger,
                  environment: environment)
    }

    /// `group` and `dialer` are the sockets' in production; the handler tests give an embedded loop and channels.
    init(loaded: LoadedConfig, group: any EventLoopGroup, dialer: ServerDialer, logger: Logger, environment: [String: String] = [:]) {
        self.environment = environment
        self.current = NIOLockedValueBox(loaded)
        self.logger = logger
        self.group = group
        self.dialer = dialer
        self.cancelRegistry = CancelRegistry(dialer: dialer)
        self.loops = Array(group.makeIterator())
        let metrics = loaded.config.int("status_port") > 0 ? ProxyMetrics(version: PgswiftVersion.current) : nil
        self.metrics = metrics
        let cacheSettings = CacheSettings(loaded.config)
        (remoteCache, memcachedCache) = Self.sharedCacheTiers(loaded.config, loops: Array(group.makeIterator()))
        let loopCount = loops.count
        self.registries = loops.indices.map { i in
            LoopConnections(index: i, metrics: metrics, cache: LoopCache(settings: cacheSettings, loops: loopCount))
        }
    }

    /// The connections living on `loop`; touch it only on that loop.
    func connections(on loop: EventLoop) -> LoopConnections {
        registries[loopIndex(of: loop)]
    }

    /// The same by the loop's index (a connection keeps its own), without searching the loops.
    func connections(at index: Int) -> LoopConnections {
        registries[index]
    }

    /// Runs `body` on every event loop over its connections and collects the results (for the admin console).
    func gather<T: Sendable>(_ body: @escaping @Sendable (LoopConnections) -> [T]) -> EventLoopFuture<[T]> {
        let parts = loops.enumerated().map { i, loop in loop.submit { body(self.registries[i]) } }
        return EventLoopFuture.whenAllSucceed(parts, on: loops[0]).map { $0.flatMap { $0 } }
    }

    var loaded: LoadedConfig { current.withLockedValue { $0 } }
    var config: ProxyConfig { loaded.config }
    /// One field out under the lock, not a copy of the whole loaded config.
    var settings: RuntimeSettings { current.withLockedValue { $0.settings } }
    var hba: HbaFile? { loaded.hba }

    /// One setting changed at run time (admin SET, the status port's tuning), checked as the file would be. Read,
    /// change and store happen under one lock, so two writers cannot lose each other's change.
    func changeSetting(_ key: String, to value: String) -> Result<Void, ConfigMessage> {
        let result = current.withLockedValue { loaded -> Result<LoadedConfig, ConfigMessage> in
            switch loaded.config.setting(key, to: value) {
            case .failure(let m): return .failure(m)
            case .success(let config):
                loaded.config = config
                return .success(loaded)
            }
        }
        switch result {
        case .failure(let m): return .failure(m)
        case .success(let new):
            updatePools(new)
            applyCacheSettings(new.config)
            return .success(())
        }
    }

    func swap(_ new: LoadedConfig) {
        current.withLockedValue { $0 = new }
        updatePools(new)
        applyCacheSettings(new.config)
    }

    /// A new target (reload, a credential learned) for an entry's own pool and its hosts' pools.
    private func apply(_ target: ServerTarget, to pool: ServerPool, entry: DatabaseEntry, config c: ProxyConfig) {
        let limits = limits(entry: entry, user: pool.key.user, config: c)
        let budget = budgetLimits(entry: entry, user: pool.key.user, config: c)
        pool.update(target: target, limits: limits, budget: budget)
        pool.routes?.update(target: target, limits: limits, budget: budget, policy: RoutePolicy(c, entry: entry))
    }

    private func updatePools(_ new: LoadedConfig) {
        let all = pools.withLockedValue { Array($0.values) }
        for pool in all {
            if let entry = new.config.database(named: pool.key.database) {
                let old = pool.target
                apply(makeTarget(entry: entry, clientUser: pool.key.user, credential: old.credential, config: new), to: pool, entry: entry,
                      config: new.config)
                // A larger pool serves its queue now, not at the next release.
                pool.refill()
                for node in pool.routes?.nodePools ?? [] { node.refill() }
            }
        }
    }

    func now() -> Double { Self.seconds(.now()) }

    /// A deadline as the pools' clock counts it.
    static func seconds(_ t: NIODeadline) -> Double { Double(t.uptimeNanoseconds) / 1e9 }

    func nextID() -> Int { counter.withLockedValue { $0 += 1; return $0 } }

    func loopIndex(of loop: EventLoop) -> Int { loops.firstIndex { $0 === loop } ?? 0 }

    func eventLoop(at index: Int) -> EventLoop { loops[index % loops.count] }

    /// Admits one more client unless max_client_conn is reached.
    func admitClient() -> Bool {
        let max = settings.maxClientConn
        return clients.withLockedValue { n in
            guard n < max else { return false }
            n += 1
            return true
        }
    }

    func clientGone() { clients.withLockedValue { $0 -= 1 } }

    func setPaused(_ on: Bool) {
        let released = pausedQueue.withLockedValue { p -> [@Sendable () -> Void] in
            p.on = on
            // Under the lock, so concurrent PAUSE and RESUME leave the flag as they leave the queue.
            pausedFlag.store(on, ordering: .sequentiallyConsistent)
            guard !on else { return [] }
            defer { p.queue = [] }
            return p.queue
        }
        for go in released { go() }
    }

    /// Distinct combinations of client settings, each stored once: clients with the same settings then share one
    /// dictionary, and the check on every lease that a server already has them is an identity comparison.
    private let settingsTable = NIOLockedValueBox<Set<[String: String]>>([])

    func canonical(_ settings: [String: String]) -> [String: String] {
        guard !settings.isEmpty else { return settings }
        return settingsTable.withLockedValue { table in
            if let i = table.firstIndex(of: settings) { return table[i] }
            // Bounded: past this many combinations, sharing simply starts over.
            if table.count >= 4096 { table.removeAll() }
            table.insert(settings)
            return settings
        }
    }

    /// PAUSE or KILL is in force somewhere: a lease must go through `whenNotPaused`. A lease that reads false while a
    /// PAUSE is being set goes ahead, as it would have just before; PAUSE waits for its server to come back.
    var mayBePaused: Bool { pausedFlag.load(ordering: .relaxed) || databases.anyPaused }

    /// Runs `go` once neither the whole pooler nor `database` is paused. Called for every lease, so the common case
    /// (nothing paused) allocates nothing beyond `go`.
    func whenNotPaused(database: String, _ go: @escaping @Sendable () -> Void) {
        let queued = pausedQueue.withLockedValue { p -> Bool in
            if p.on { p.queue.append { [databases] in databases.whenNotPaused(database, go) } }
            return p.on
        }
        if !queued { databases.whenNotPaused(database, go) }
    }

    /// Runs `go` now, or on RESUME when paused.
    func whenNotPaused(_ go: @escaping @Sendable () -> Void) {
        let now = pausedQueue.withLockedValue { p -> Bool in
            if p.on { p.queue.append(go) }
            return !p.on
        }
        if now { go() }
    }

    var clientCount: Int { clients.withLockedValue { $0 } }

    var isPaused: Bool { pausedQueue.withLockedValue { $0.on } }

    /// Every pool, the per-host pools of entries with several hosts included (ticks, RECONNECT, node changes).
    var allPools: [ServerPool] {
        pools.withLockedValue { $0.values.flatMap { [$0] + ($0.routes?.nodePools ?? []) } }
    }

    /// One pool per (database, user): the rows of SHOW POOLS and /metrics, whose counts include the per-host pools.
    var homePools: [ServerPool] { pools.withLockedValue { Array($0.values) } }

    func hasPool(database: String) -> Bool { pools.withLockedValue { $0.keys.contains { $0.database == database } } }

    /// The pool for a client that authenticated as `clientUser` to `entry`; created on first use.
    func pool(entry: DatabaseEntry, clientUser: String, clientKeys: SCRAMKeys?, clientPassword: String?,
              lookedUp: ClientSecret? = nil, forceUser: Bool = false) -> ServerPool {
        let loaded = self.loaded
        var entry = entry
        if forceUser { entry.user = nil }
        let serverUser = entry.user ?? clientUser
        let key = PoolKey(database: entry.name, user: serverUser)
        return pools.withLockedValue { pools in
            if let p = pools[key] {
                // A pool created before any client proved a SCRAM password can use the first one that does.
                var learned = Self.credential(from: clientKeys, password: clientPassword)
                if learned == nil, case .md5(let s)? = lookedUp { learned = .md5Secret(s) }
                if case .none = p.target.credential, let cred = learned {
                    var t = p.target
                    t.credential = cred
                    apply(t, to: p, entry: entry, config: loaded.config)
                }
                return p
            }
            let base = storedCredential(entry: entry, serverUser: serverUser, loaded: loaded)
            let cred: ServerCredential
            if case .none = base, let fromClient = Self.credential(from: clientKeys, password: clientPassword), entry.user == nil {
                cred = fromClient
            } else if case .none = base, case .md5(let s)? = lookedUp {
                cred = .md5Secret(s)
            } else {
                cred = base
            }
            let target = makeTarget(entry: entry, clientUser: serverUser, credential: cred, config: loaded)
            // An entry with several hosts also gets a pool per host, for read/write splitting.
            let routes = target.addresses.count > 1 ? NodeRoutes(key: key, policy: RoutePolicy(loaded.config, entry: entry), runtime: self) : nil
            let p = ServerPool(key: key, target: target,
                               limits: limits(entry: entry, user: serverUser, config: loaded.config),
                               budget: budgetLimits(entry: entry, user: serverUser, config: loaded.config), runtime: self, routes: routes)
            if let routes {
                routes.install(home: p)
                apply(target, to: p, entry: entry, config: loaded.config)
            }
            pools[key] = p
            return p
        }
    }

    private static func credential(from keys: SCRAMKeys?, password: String?) -> ServerCredential? {
        if let password { return .password(password) }
        if let keys { return .scramKeys(keys) }
        return nil
    }

    private func storedCredential(entry: DatabaseEntry, serverUser: String, loaded: LoadedConfig) -> ServerCredential {
        if let p = entry.password { return .password(p) }
        switch loaded.userlist[serverUser] {
        case .plain(let p)?: return .password(p)
        case .md5(let s)?: return .md5Secret(s)
        case .scram?, nil: return .none
        }
    }

    /// Where a database's server is: its host, else (as PgBouncer) the Unix socket directory, else localhost.
    static func serverHost(_ entry: DatabaseEntry, _ c: ProxyConfig) -> String {
        if let host = entry.host, !host.isEmpty { return host }
        return c.string("unix_socket_dir").isEmpty ? "127.0.0.1" : c.string("unix_socket_dir")
    }

    /// An entry's hosts with their ports, in the order written.
    static func serverAddresses(_ entry: DatabaseEntry, _ c: ProxyConfig) -> [ServerAddress] {
        entry.addresses(defaultHost: serverHost(entry, c)).map { ServerAddress(host: $0.host, port: $0.port) }
    }

    /// The entries with several hosts, by name: the ones health checks, fencing and SHOW NODES cover.
    static func hostLists(_ c: ProxyConfig) -> [(name: String, entry: DatabaseEntry, addresses: [ServerAddress])] {
        c.databases.filter { $0.key != "*" && $0.value.hosts.count > 1 }.sorted { $0.key < $1.key }
            .map { ($0.key, $0.value, serverAddresses($0.value, c)) }
    }

    private func makeTarget(entry: DatabaseEntry, clientUser: String, credential: ServerCredential, config loaded: LoadedConfig) -> ServerTarget {
        let c = loaded.config
        var params = entry.startupParameters
        if params["application_name"] == nil { params["application_name"] = "pgswift" }
        return ServerTarget(
            addresses: Self.serverAddresses(entry, c),
            weights: entry.weights, roundRobin: entry.loadBalanceHosts != "disable", database: entry.dbname ?? entry.name, user: entry.user ?? clientUser,
            credential: credential, startupParameters: params,
            resetQuery: c.string("server_reset_query"),
            resetAlways: c.bool("server_reset_query_always"),
            connectTimeout: c.seconds("server_connect_timeout"),
            // Read once per pool (and reload), not on every lease.
            checkQuery: c.string("server_check_query").isEmpty ? nil : (c.string("server_check_query") == "<empty>" ? "" : c.string("server_check_query")),
            checkDelay: c.seconds("server_check_delay"))
    }

    /// [users] pool_mode wins over the database's, which wins over the global one (PgBouncer's order).
    func poolMode(entry: DatabaseEntry, user: String, config c: ProxyConfig) -> PoolMode {
        let text = c.users[user]?.poolMode ?? entry.poolMode ?? c.string("pool_mode")
        return PoolMode(rawValue: text.lowercased()) ?? .session
    }

    func budgetLimits(entry: DatabaseEntry, user: String, config c: ProxyConfig) -> (database: Int, user: Int) {
        (entry.maxDBConnections ?? c.int("max_db_connections"), c.users[user]?.maxUserConnections ?? c.int("max_user_connections"))
    }

    /// A server of this database or user closed: pools held back by its limits may open one now.
    func refillPools(database: String, user: String) {
        for pool in allPools where pool.key.database == database || pool.key.user == user { pool.refill() }
    }

    func limits(entry: DatabaseEntry, user: String, config c: ProxyConfig) -> PoolLimits {
        let userEntry = c.users[user]
        return PoolLimits(
            poolSize: userEntry?.poolSize ?? entry.poolSize ?? c.int("default_pool_size"),
            minPoolSize: entry.minPoolSize ?? c.int("min_pool_size"),
            reservePoolSize: userEntry?.reservePoolSize ?? entry.reservePoolSize ?? c.int("reserve_pool_size"),
            reservePoolTimeout: c.seconds("reserve_pool_timeout"),
            serverLifetime: c.seconds("server_lifetime"),
            serverIdleTimeout: c.seconds("server_idle_timeout"),
            queryWaitTimeout: c.seconds("query_wait_timeout"),
            loginRetry: c.seconds("server_login_retry"))
    }
}
