// The health checks' schedule: every second the first loop starts the checks that are due, one per host at a time.
import Config
import NIOCore
import PoolCore
import Routing

extension ProxyRuntime {
    /// Starts a check of each host of every entry with several hosts whose last check is health_check_period old.
    func checkNodes() {
        let s = settings
        guard s.healthCheckPeriod > 0 else { return }
        let policy = HealthPolicy(failuresToDown: s.healthCheckFailures, successesToUp: s.healthCheckSuccesses)
        let now = self.now()
        for (name, entry, addresses) in Self.hostLists(config) {
            // No role to log in as yet (no health_check_user, no pool): the hosts stay as their connects found them.
            guard let login = checkLogin(database: name, entry: entry) else { continue }
            for address in addresses {
                guard nodes.beginCheck(address, policy: policy, period: s.healthCheckPeriod, now: now) else { continue }
                runCheck(address, database: entry.dbname ?? name, user: login.user, credential: login.credential, timeout: s.healthCheckTimeout)
            }
        }
    }

    /// health_check_user with its auth_file password, else the role and password of the entry's first pool.
    func checkLogin(database: String, entry: DatabaseEntry) -> (user: String, credential: ServerCredential)? {
        let user = settings.healthCheckUser
        if !user.isEmpty {
            switch loaded.userlist[user] {
            case .plain(let p)?: return (user, .password(p))
            case .md5(let s)?: return (user, .md5Secret(s))
            // A SCRAM verifier proves a client's password but cannot log in as the user: no checks (SHOW NODES says
            // unchecked). Not in auth_file: maybe trust.
            case .scram?: return nil
            case nil: return (user, .none)
            }
        }
        guard let pool = allPools.first(where: { $0.key.database == database }) else { return nil }
        let target = pool.target
        return (target.user, target.credential)
    }

    private func runCheck(_ address: ServerAddress, database: String, user: String, credential: ServerCredential, timeout: Double) {
        // A primary also lists the database's VOLATILE user functions, which read/write splitting sends to it.
        runNodeSQL(address, database: database, user: user, credential: credential, purpose: "pgswift health check",
                   statements: [NodeCheck.sql, FunctionVolatility.sql], next: { $0?.first == "f" },
                   timeout: timeout, timeoutMessage: "no answer within health_check_timeout (\(timeout)s)") { [self] rows in
            if case .success(let r) = rows, r.count == 2 { nodes.setVolatileFunctions(FunctionVolatility.names(r[1]?.first ?? nil), database: database) }
            let result = rows.flatMap { rows -> Result<NodeObservation, NodeCheckFailure> in
                guard let columns = rows.first ?? nil, let observation = NodeCheck.observation(columns) else {
                    return .failure(NodeCheckFailure(message: "unexpected answer to the check query"))
                }
                return .success(observation)
            }
            if case .failure(let why) = result { logger.info("health check of \(address) failed: \(why)") }
            if nodes.checkEnded(address, result.mapError { $0 as Error }, now: self.now()) {
                // Promoted or demoted: servers opened for its old role are not used again.
                logger.warning("\(address) changed role; its server connections are replaced")
                Task { try? await retireServers(on: address, database: nil) }
                // A demoted primary means another host may have been promoted (a switchover): its entries' hosts are
                // checked at once rather than a health_check_period later.
                for (_, _, addresses) in Self.hostLists(config) where addresses.contains(address) {
                    for other in addresses where other != address { nodes.checkSoon(other) }
                }
            }
            // Only a new reading can make a host stale or current again.
            fenceStaleNodes()
            failOverIfDue()
        }
    }

    /// A session of pgswift's own with one host (NodeSQLConnection) on the first loop; `done` runs there once, with
    /// the statements' first rows or why it failed (the connect, the host, or `timeout`).
    func runNodeSQL(_ address: ServerAddress, database: String, user: String, credential: ServerCredential, purpose: String,
                    statements: [String], next: @escaping ([String?]?) -> Bool = { _ in true }, timeout: Double, timeoutMessage: String,
                    done: @escaping @Sendable (Result<[[String?]?], NodeCheckFailure>) -> Void) {
        let loop = loops[0]
        let limit = TimeAmount.milliseconds(Int64(max(timeout, 0.1) * 1000))
        // Loop-confined: the connection, its timer and the dial's failure all end the session on loop 0; the first wins.
        final class Outcome: @unchecked Sendable {
            var ended = false
            var channel: Channel?
        }
        let outcome = Outcome()
        let end: @Sendable (Result<[[String?]?], NodeCheckFailure>) -> Void = { result in
            guard !outcome.ended else { return }
            outcome.ended = true
            outcome.channel?.close(promise: nil)
            done(result)
        }
        let handler = NodeSQLConnection(address: address, database: database, user: user, credential: credential, tls: loaded.serverTLS,
                                        tlsMode: config.string("server_tls_sslmode"), purpose: purpose, statements: statements, next: next) { result in
            loop.execute { end(result) }
        }
        let dial = Dial(host: address.host, port: address.port, connectTimeout: limit, purpose: .healthCheck)
        let opened = dialer.open(dial, loop) { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
        }
        opened.whenComplete { result in
            switch result {
            case .success(let channel):
                outcome.channel = channel
                if outcome.ended { channel.close(promise: nil) }
            case .failure(let error):
                end(.failure(NodeCheckFailure(message: "could not connect: \(error)")))
            }
        }
        loop.scheduleTask(in: limit) { end(.failure(NodeCheckFailure(message: timeoutMessage))) }
    }
}

extension ProxyRuntime {
    /// What runs on the host finishes; nothing new starts on its servers: idle ones close now, busy ones when given
    /// back. `database`: only that entry's pools (nil: every pool on the host).
    func retireServers(on address: ServerAddress, database: String?) async throws {
        // Marked first (a login in progress finishes, then its server closes when given back), then the idle ones
        // closed through their pools, never behind a lease's back; again after, for one given back meanwhile.
        _ = try await gather { registry -> [Int] in
            for s in registry.servers.values where s.address == address && (database == nil || s.pool?.key.database == database) {
                s.closeNeeded = true
            }
            return []
        }.get()
        for pool in allPools where database == nil || pool.key.database == database {
            pool.closeIdle(on: address)
        }
    }

    /// Stale readings in a row, after the newest timeline was first seen, before a host is fenced: a replica that
    /// reattaches to a new primary streams the rest of the old timeline first, and reports it meanwhile.
    static let staleReadingsToFence = 2

    /// After each check: an entry's hosts still on an older timeline than another of them, in readings
    /// taken after that newer timeline appeared, are fenced (an old primary that came back, replicas following it).
    /// A fenced replica found following the newest timeline again is let back; a fenced primary never is (UNDRAIN
    /// NODE lifts it).
    func fenceStaleNodes() {
        let records = nodes.snapshot
        let now = self.now()
        for (name, _, addresses) in Self.hostLists(config) {
            let readings = addresses.map { a -> (timeline: UInt32, role: NodeRole, at: Double)? in
                guard let r = records[a], let o = r.current, let t = o.timeline, let at = r.lastCheck else { return nil }
                return (t, o.role, at)
            }
            guard let newest = readings.compactMap({ $0?.timeline }).max() else { continue }
            let since = nodes.newestTimeline(name, newest, now: now)
            let stale = Fencing.stale(readings.map { $0.map { ($0.timeline, $0.at) } }, newestSince: since)
            for (i, address) in addresses.enumerated() {
                guard let reading = readings[i], reading.at > since else { continue }
                if stale.contains(i) {
                    guard nodes.staleReading(database: name, address: address, checkedAt: reading.at) >= Self.staleReadingsToFence,
                          nodes.fence(database: name, address: address) else { continue }
                    logger.warning("\(address) of database \(name) is on an older timeline than another of its hosts: fenced (no new connections; UNDRAIN NODE lifts it)")
                    Task { try? await retireServers(on: address, database: name) }
                } else {
                    nodes.currentReading(database: name, address: address)
                    if reading.role == .replica, nodes.isFenced(database: name, address: address) {
                        nodes.unfence(database: name, address: address)
                        logger.info("\(address) of database \(name) follows the newest timeline again: no longer fenced")
                    }
                }
            }
        }
    }
}
