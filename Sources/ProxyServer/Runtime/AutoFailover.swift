// auto_failover: an entry without a reachable primary for failover_timeout gets its most advanced replica promoted.
import Config
import PoolCore
import Routing

extension ProxyRuntime {
    /// The advisory lock that makes one pgswift instance the promoter: taken on the candidate itself (advisory locks
    /// work on a standby), whose replay position every instance sees frozen once the primary is gone.
    static let failoverLock = "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('pgswift auto_failover'))"

    /// After each check: for every entry due a promotion, promote its candidate.
    func failOverIfDue() {
        let s = settings
        guard s.autoFailover, s.healthCheckPeriod > 0 else { return }
        let records = nodes.snapshot
        let now = self.now()
        for (name, entry, addresses) in Self.hostLists(config) {
            let hosts = addresses.map { a -> Failover.Host? in
                guard let r = records[a] else { return nil }
                let closed = nodes.isClosed(database: name, address: a)
                // Only what recent checks found: a host not checked for three periods says nothing of now.
                if let o = r.current, let at = r.lastCheck, now - at <= 3 * s.healthCheckPeriod {
                    return Failover.Host(role: o.role, up: r.health.isUp, closed: closed, lsn: o.lsn, timeline: o.timeline,
                                         settled: o.replayDelay == 0 || r.lsnBefore == o.lsn)
                }
                // A primary whose checks fail without it being down (its role refused, fewer failures than
                // health_check_failures) is still the primary: only one found down is replaced.
                if let o = r.observation, o.role == .primary, r.health.isUp {
                    return Failover.Host(role: .primary, up: true, closed: closed, lsn: o.lsn, timeline: o.timeline)
                }
                return nil
            }
            guard nodes.failoverDue(name, hasPrimary: Failover.hasPrimary(hosts), ready: !Failover.settling(hosts), now: now,
                                    timeout: s.failoverTimeout) else { continue }
            guard let i = Failover.candidate(hosts) else {
                logger.warning("auto_failover: database \(name) has had no reachable primary for \(s.failoverTimeout)s, and no healthy replica to promote")
                continue
            }
            guard let login = checkLogin(database: name, entry: entry) else {
                logger.warning("auto_failover: database \(name) needs a promotion, but there is no role to log in as (health_check_user)")
                continue
            }
            promote(addresses[i], database: entry.dbname ?? name, entry: name, user: login.user, credential: login.credential,
                    lsn: hosts[i]?.lsn ?? 0)
        }
    }

    private func promote(_ address: ServerAddress, database: String, entry: String, user: String, credential: ServerCredential, lsn: UInt64) {
        logger.warning("auto_failover: database \(entry) has had no reachable primary for \(settings.failoverTimeout)s; promoting \(address), its most advanced replica (replayed \(NodeCheck.lsnText(lsn)))")
        let statements = [Self.failoverLock, "SELECT pg_catalog.pg_is_in_recovery()", "SELECT pg_catalog.pg_promote(true, 60)"]
        // Each step goes on only when the one before says so: the lock is ours, and the host is still a standby.
        runNodeSQL(address, database: database, user: user, credential: credential, purpose: "pgswift auto_failover", statements: statements,
                   next: { $0?.first == "t" }, timeout: 75, timeoutMessage: "no answer within 75 s") { [self] result in
            switch result {
            case .failure(let why):
                logger.error("auto_failover: promoting \(address) failed: \(why)")
            case .success(let rows) where rows.count == 1:
                logger.warning("auto_failover: another pgswift instance is promoting a replica of database \(entry) (the lock on \(address) is taken)")
            case .success(let rows) where rows.count == 2:
                logger.warning("auto_failover: \(address) is no longer in recovery: already promoted")
            case .success(let rows):
                if rows.last??.first == "t" {
                    logger.warning("auto_failover: promoted \(address) to primary of database \(entry)")
                } else {
                    logger.error("auto_failover: pg_promote() on \(address) did not finish within 60 s")
                }
            }
            // Its new role is found now, not a period later.
            nodes.checkSoon(address)
        }
    }
}
