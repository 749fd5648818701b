// One node's health as pgswift sees it: what its checks said (up or down, its role), and its circuit breaker, which
// stops sending it work at once when it fails instead of letting every client wait for a connect timeout.

/// The numbers behind the decisions, from the config (times in seconds).
public struct HealthPolicy: Sendable, Equatable {
    /// health_check_failures: checks failed in a row before the node is down.
    public var failuresToDown: Int
    /// health_check_successes: checks passed in a row before a down node is up again.
    public var successesToUp: Int
    /// Connection attempts failed in a row (a refused one counts) that open the circuit.
    public var connectFailuresToOpen: Int
    /// Share of failed requests over `errorWindow` seconds that opens the circuit, once at least `minimumRequests`
    /// were seen in it; a failure is the node's (connection lost, refused login), never a client's SQL error.
    public var errorRateToOpen: Double
    public var errorWindow: Double
    public var minimumRequests: Int
    /// How long the circuit first stays open; each failed probe doubles it, up to `longestOpen`.
    public var firstOpen: Double
    public var longestOpen: Double

    public init(failuresToDown: Int = 3, successesToUp: Int = 2, connectFailuresToOpen: Int = 3, errorRateToOpen: Double = 0.5,
                errorWindow: Double = 10, minimumRequests: Int = 20, firstOpen: Double = 1, longestOpen: Double = 30) {
        self.failuresToDown = max(1, failuresToDown)
        self.successesToUp = max(1, successesToUp)
        self.connectFailuresToOpen = max(1, connectFailuresToOpen)
        self.errorRateToOpen = errorRateToOpen
        self.errorWindow = errorWindow
        self.minimumRequests = max(1, minimumRequests)
        self.firstOpen = firstOpen
        self.longestOpen = max(firstOpen, longestOpen)
    }
}

/// What a node is, as its last successful check found it.
public enum NodeRole: String, Sendable, Equatable {
    /// Not known yet: no check has answered.
    case unknown
    case primary
    case replica
}

/// The circuit breaker's state, as SHOW NODES names it.
public enum CircuitState: Sendable, Equatable {
    case closed
    /// No work until `until`.
    case open(until: Double)
    /// The open time is over: one attempt may go through; its outcome closes or reopens the circuit.
    case halfOpen(probing: Bool)

    public var name: String {
        switch self {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half-open"
        }
    }
}

/// Whether work may go to the node now.
public enum Admission: Sendable, Equatable {
    case admit
    /// The circuit is half-open and this attempt is its probe: report its outcome.
    case probe
    /// Not now: the node is down, or its circuit is open (until then), or half-open with its probe running.
    case refuse(NodeRefusal)
}

public enum NodeRefusal: Sendable, Equatable {
    case down
    case circuitOpen(until: Double)
    case probing
}

public struct NodeHealth: Sendable, Equatable {
    public let policy: HealthPolicy
    public private(set) var role = NodeRole.unknown
    /// Down after `failuresToDown` failed checks in a row; a node nobody has checked yet counts as up, so serving
    /// starts before every node has answered.
    public private(set) var isUp = true
    public private(set) var circuit = CircuitState.closed
    private var checkFailures = 0
    private var checkSuccesses = 0
    private var connectFailures = 0
    private var openFor: Double
    /// Requests and failures per whole second of the error window, oldest first.
    private struct Bucket: Sendable, Equatable {
        var second: Int
        var requests: Int
        var failures: Int
    }
    private var buckets: [Bucket] = []

    public init(policy: HealthPolicy) {
        self.policy = policy
        openFor = policy.firstOpen
    }

    // MARK: checks

    /// The circuit as it stands at `now`: an open circuit whose time is up is half-open, with no probe yet.
    public func circuit(at now: Double) -> CircuitState {
        if case .open(let until) = circuit, now >= until { return .halfOpen(probing: false) }
        return circuit
    }

    /// Every event sees the circuit as it stands at its time, so an open circuit needs nobody to ask for admission
    /// before the next outcome can close or reopen it.
    private mutating func settle(_ now: Double) {
        circuit = circuit(at: now)
    }

    /// A health check answered: the node is reachable and is `role`.
    public mutating func checkPassed(role: NodeRole, now: Double) {
        settle(now)
        self.role = role
        checkFailures = 0
        checkSuccesses += 1
        if !isUp && checkSuccesses >= policy.successesToUp { isUp = true }
        // A check is a connection that worked: an open circuit's time still runs, a half-open one closes.
        if case .halfOpen = circuit { close() }
    }

    /// A health check failed (no connection, no answer within health_check_timeout, an error).
    public mutating func checkFailed(now: Double) {
        settle(now)
        checkSuccesses = 0
        checkFailures += 1
        if isUp && checkFailures >= policy.failuresToDown { isUp = false }
        if case .halfOpen = circuit { reopen(now: now) }
    }

    // MARK: connections and requests

    /// A server connection to the node was made (and logged in).
    public mutating func connected(now: Double) {
        settle(now)
        connectFailures = 0
        if case .halfOpen = circuit { close() }
    }

    /// A server connection to the node could not be made (refused, timed out, login refused by the node itself).
    public mutating func connectFailed(now: Double) {
        settle(now)
        connectFailures += 1
        switch circuit {
        case .closed:
            if connectFailures >= policy.connectFailuresToOpen { open(now: now) }
        case .halfOpen:
            reopen(now: now)
        case .open:
            break
        }
    }

    /// A request on the node ended; `failed`: by the node's fault (the connection lost mid-request).
    public mutating func requestEnded(failed: Bool, now: Double) {
        settle(now)
        let second = Int(now.rounded(.down))
        if let last = buckets.last, last.second == second {
            buckets[buckets.count - 1].requests += 1
            if failed { buckets[buckets.count - 1].failures += 1 }
        } else {
            buckets.append(Bucket(second: second, requests: 1, failures: failed ? 1 : 0))
        }
        let oldest = second - Int(policy.errorWindow.rounded(.up)) + 1
        if let k = buckets.firstIndex(where: { $0.second >= oldest }), k > 0 { buckets.removeFirst(k) }
        guard failed, case .closed = circuit else { return }
        let requests = buckets.reduce(0) { $0 + $1.requests }, failures = buckets.reduce(0) { $0 + $1.failures }
        if requests >= policy.minimumRequests && Double(failures) / Double(requests) >= policy.errorRateToOpen { open(now: now) }
    }

    // MARK: the decision

    /// Whether new work may go to the node at `now`. A `.probe` answer is the half-open circuit's one attempt: the
    /// caller reports its outcome through `connected`, `connectFailed` or a check.
    public mutating func admission(now: Double) -> Admission {
        guard isUp else { return .refuse(.down) }
        switch circuit {
        case .closed:
            return .admit
        case .open(let until):
            guard now >= until else { return .refuse(.circuitOpen(until: until)) }
            circuit = .halfOpen(probing: true)
            return .probe
        case .halfOpen(let probing):
            if probing { return .refuse(.probing) }
            circuit = .halfOpen(probing: true)
            return .probe
        }
    }

    /// The probe a half-open circuit let through never reported (its client left first): another may go.
    public mutating func probeAbandoned() {
        if case .halfOpen(true) = circuit { circuit = .halfOpen(probing: false) }
    }

    private mutating func open(now: Double) {
        circuit = .open(until: now + openFor)
    }

    private mutating func reopen(now: Double) {
        openFor = min(openFor * 2, policy.longestOpen)
        open(now: now)
    }

    private mutating func close() {
        circuit = .closed
        connectFailures = 0
        openFor = policy.firstOpen
        buckets.removeAll()
    }
}
