// Every host of a [databases] entry with several hosts, with what its checks and connections found: shared by all
// pools on that host, read by new connects (a down host is tried last) and by SHOW NODES.
import NIOConcurrencyHelpers
import Routing
import Synchronization

final class NodeRegistry: Sendable {
    struct Record: Sendable {
        var health: NodeHealth
        var observation: NodeObservation?
        /// Runtime seconds of the last check's end, and why it failed (nil when it passed).
        var lastCheck: Double?
        var lastError: String?
        var checking = false
        /// When the last check started (the schedule counts health_check_period from there).
        var lastStarted: Double?
        /// When the check that took `observation` started: its reading is no older than that.
        var observationStarted: Double?
        /// The WAL position the check before the last one read (a replica still replaying moves between the two).
        var lsnBefore: UInt64?
        /// Checks started so far: a wait for a check that starts after it knows which ending counts.
        var started = 0
        /// The next round starts a check whatever the period says (kept apart from `lastStarted`, which a running
        /// check's reading is dated by).
        var due = false

        /// What the last check found, when it passed and the host is up: the one reading readiness, fencing and
        /// lag may rely on (a failed check keeps the older observation, which says nothing of now).
        var current: NodeObservation? { lastError == nil && health.isUp ? observation : nil }
    }

    private let records = NIOLockedValueBox<[ServerAddress: Record]>([:])
    /// Bumped by every change routing may see (a check's result, a circuit, drain and fencing): a router keeps its
    /// view of the hosts until it moves.
    let generation = Atomic<Int>(0)

    private func changed() { generation.add(1, ordering: .releasing) }
    /// DRAIN NODE: hosts of an entry that get no new server connections.
    private let drainedNodes = NIOLockedValueBox<Set<DrainedNode>>([])

    struct DrainedNode: Hashable, Sendable {
        var database: String
        var address: ServerAddress
    }

    func setDrained(_ on: Bool, database: String, address: ServerAddress) {
        drainedNodes.withLockedValue { set in
            if on { set.insert(DrainedNode(database: database, address: address)) } else { set.remove(DrainedNode(database: database, address: address)) }
        }
        changed()
    }

    func isDrained(database: String, address: ServerAddress) -> Bool {
        drainedNodes.withLockedValue { $0.contains(DrainedNode(database: database, address: address)) }
    }

    /// Hosts of an entry found on an older timeline than another of its hosts (an old primary that came back, a
    /// replica still following it): no new server connections. Never lifted by itself; UNDRAIN NODE lifts it.
    private let fencedNodes = NIOLockedValueBox<Set<DrainedNode>>([])

    func fence(database: String, address: ServerAddress) -> Bool {
        defer { changed() }
        return fencedNodes.withLockedValue { $0.insert(DrainedNode(database: database, address: address)).inserted }
    }

    func unfence(database: String, address: ServerAddress) {
        _ = fencedNodes.withLockedValue { $0.remove(DrainedNode(database: database, address: address)) }
        changed()
    }

    func isFenced(database: String, address: ServerAddress) -> Bool {
        fencedNodes.withLockedValue { $0.contains(DrainedNode(database: database, address: address)) }
    }

    /// The newest timeline seen among an entry's hosts and since when, and per host the stale readings in a row
    /// taken after it (each check counted once).
    private struct TimelineWatch: Sendable {
        var newest: [String: (timeline: UInt32, since: Double)] = [:]
        var stale: [DrainedNode: (count: Int, lastCheck: Double)] = [:]
    }
    private let timelines = NIOLockedValueBox(TimelineWatch())

    /// When `timeline` became the newest seen for `database` (now, if it just did).
    func newestTimeline(_ database: String, _ timeline: UInt32, now: Double) -> Double {
        timelines.withLockedValue { w in
            if let known = w.newest[database], known.timeline >= timeline { return known.since }
            w.newest[database] = (timeline, now)
            return now
        }
    }

    /// Counts a stale reading of the host (once per check); returns how many in a row.
    func staleReading(database: String, address: ServerAddress, checkedAt: Double) -> Int {
        timelines.withLockedValue { w in
            let key = DrainedNode(database: database, address: address)
            var entry = w.stale[key] ?? (0, -1)
            if entry.lastCheck != checkedAt { entry = (entry.count + 1, checkedAt) }
            w.stale[key] = entry
            return entry.count
        }
    }

    func currentReading(database: String, address: ServerAddress) {
        _ = timelines.withLockedValue { $0.stale.removeValue(forKey: DrainedNode(database: database, address: address)) }
    }

    /// Drained or fenced: no new server connections to this host for this entry.
    func isClosed(database: String, address: ServerAddress) -> Bool {
        isDrained(database: database, address: address) || isFenced(database: database, address: address)
    }

    /// A host is left out of the order of new connects while its checks say it is down or its circuit is open.
    func shunned(_ address: ServerAddress, now: Double) -> Bool {
        records.withLockedValue { r in
            guard let health = r[address]?.health else { return false }
            if !health.isUp { return true }
            if case .open(let until) = health.circuit { return now < until }
            return false
        }
    }

    /// Starts a check of `address` unless one is running or the last ended less than `period` ago.
    func beginCheck(_ address: ServerAddress, policy: HealthPolicy, period: Double, now: Double) -> Bool {
        records.withLockedValue { r in
            var record = r[address] ?? Record(health: NodeHealth(policy: policy))
            if record.checking { return false }
            if !record.due, let last = record.lastStarted, now - last < period { return false }
            record.due = false
            record.checking = true
            record.lastStarted = now
            record.started += 1
            r[address] = record
            return true
        }
    }

    /// Records a check's outcome; true when it found the host in another role than the last check did (a promotion,
    /// a demotion), when the servers open on it must not be used again.
    @discardableResult
    func checkEnded(_ address: ServerAddress, _ result: Result<NodeObservation, Error>, now: Double) -> Bool {
        defer {
            changed()
            checked(address)
        }
        return records.withLockedValue { r in
            guard var record = r[address] else { return false }
            var changed = false
            record.checking = false
            record.lastCheck = now
            switch result {
            case .success(let observation):
                if let before = record.observation?.role, before != observation.role { changed = true }
                record.lsnBefore = record.observation?.lsn
                record.observation = observation
                record.observationStarted = record.lastStarted
                record.lastError = nil
                record.health.checkPassed(role: observation.role, now: now)
            case .failure(let error as NodeCheckFailure) where error.isCredentialProblem:
                // Not the host's fault: shown, but not counted against it, and not a check that tells anything.
                record.lastError = "\(error)"
                record.lastCheck = nil
            case .failure(let error):
                record.lastError = "\(error)"
                record.health.checkFailed(now: now)
            }
            r[address] = record
            return changed
        }
    }

    /// Per database (as the server names it), its VOLATILE user functions as the primary's last check listed them.
    private let volatileFunctions = NIOLockedValueBox<[String: Set<String>]>([:])

    func setVolatileFunctions(_ names: Set<String>, database: String) {
        volatileFunctions.withLockedValue { $0[database] = names }
    }

    func volatileFunctions(database: String) -> Set<String> {
        volatileFunctions.withLockedValue { $0[database] ?? [] }
    }

    /// auto_failover's count of how long each entry has been without a primary.
    private let failoverWatches = NIOLockedValueBox<[String: Failover.Watch]>([:])

    func failoverDue(_ database: String, hasPrimary: Bool, ready: Bool, now: Double, timeout: Double) -> Bool {
        failoverWatches.withLockedValue { $0[database, default: Failover.Watch()].due(hasPrimary: hasPrimary, ready: ready, now: now, timeout: timeout) }
    }

    /// The last passing check found the host in the other role than a server's login just reported.
    func roleDiffers(_ address: ServerAddress, standby: Bool) -> Bool {
        records.withLockedValue { r in
            guard let role = r[address]?.current?.role, role != .unknown else { return false }
            return (role == .replica) != standby
        }
    }

    /// Those waiting for checks (`afterChecks`): each with the check number it needs of each host still to end.
    private let checkWaiters = NIOLockedValueBox<(next: Int, list: [(id: Int, needs: [ServerAddress: Int], go: @Sendable () -> Void)])>((0, []))

    /// Runs `go` once every host of `addresses` has ended a check started after this call (they are started at the
    /// next round). Hosts without a record are not waited for; nor is anything when none has one. Returns the wait's
    /// id for `cancelChecksWait`: a host no longer checked (a reload removed it) must not keep the wait forever.
    @discardableResult
    func afterChecks(of addresses: [ServerAddress], _ go: @escaping @Sendable () -> Void) -> Int {
        let needs = records.withLockedValue { r -> [ServerAddress: Int] in
            var needs: [ServerAddress: Int] = [:]
            for a in addresses {
                guard let record = r[a] else { continue }
                needs[a] = record.started + 1
                r[a]?.due = true
            }
            return needs
        }
        if needs.isEmpty {
            go()
            return -1
        }
        return checkWaiters.withLockedValue { w in
            w.next += 1
            w.list.append((w.next, needs, go))
            return w.next
        }
    }

    /// The wait gave up (its own limit): it is forgotten, `go` never called from here.
    func cancelChecksWait(_ id: Int) {
        checkWaiters.withLockedValue { w in w.list.removeAll { $0.id == id } }
    }

    /// A check of `address` ended: waits it completes run (outside the locks).
    private func checked(_ address: ServerAddress) {
        let started = records.withLockedValue { $0[address]?.started ?? 0 }
        let due = checkWaiters.withLockedValue { w -> [@Sendable () -> Void] in
            guard !w.list.isEmpty else { return [] }
            var due: [@Sendable () -> Void] = []
            for i in w.list.indices.reversed() {
                if let need = w.list[i].needs[address], need <= started { w.list[i].needs[address] = nil }
                if w.list[i].needs.isEmpty { due.append(w.list.remove(at: i).go) }
            }
            return due
        }
        for go in due { go() }
    }

    /// The next round of checks (every 100 ms) starts one of `address` whatever its period says.
    func checkSoon(_ address: ServerAddress) {
        records.withLockedValue { r in r[address]?.due = true }
    }

    /// A server connection to `address` was made or could not be (feeds its circuit breaker).
    func connected(_ address: ServerAddress, now: Double) {
        let moved = records.withLockedValue { r -> Bool in
            let before = r[address]?.health
            r[address]?.health.connected(now: now)
            return r[address]?.health != before
        }
        if moved { changed() }
    }

    func connectFailed(_ address: ServerAddress, now: Double) {
        records.withLockedValue { r in r[address]?.health.connectFailed(now: now) }
        changed()
    }

    var snapshot: [ServerAddress: Record] { records.withLockedValue { $0 } }
}
