// Which of a database's hosts a new server connection tries, in order: PgBouncer's host lists, with hosts that just
// refused a connection tried last instead of failing every other connect.

/// PgBouncer's `load_balance_hosts`: with `roundRobin` each new connection starts at the next host (by weight:
/// smooth weighted round-robin, so weights 3,1 give a a b a, a a b a, ...), with it off the host that last worked is
/// kept until it fails. Either way the other hosts follow in list order, so one connect tries them all; a host
/// whose last attempt failed within `downFor` seconds (server_login_retry) goes to the end of the order, and so does
/// one of weight 0, which is used only when the others fail.
public struct HostRotation: Sendable, Equatable {
    public let weights: [Int]
    public let roundRobin: Bool
    public let downFor: Double
    /// Smooth weighted round-robin's running scores.
    private var scores: [Int]
    /// The host that last accepted a connection (load_balance_hosts = disable).
    private var current = 0
    private var failedAt: [Double?]

    public init(weights: [Int], roundRobin: Bool, downFor: Double) {
        precondition(!weights.isEmpty, "a database has at least one host")
        self.weights = weights.map { max($0, 0) }
        self.roundRobin = roundRobin
        self.downFor = downFor
        scores = Array(repeating: 0, count: weights.count)
        failedAt = Array(repeating: nil, count: weights.count)
    }

    public var count: Int { weights.count }

    /// The hosts to try for one new connection, best first; every host is in it once.
    public mutating func order(now: Double) -> [Int] {
        guard count > 1 else { return [0] }
        let first = roundRobin ? nextByWeight() : current
        let cycle = (0..<count).map { (first + $0) % count }
        func last(_ i: Int) -> Bool { isDown(i, now: now) || weights[i] == 0 }
        return cycle.filter { !last($0) } + cycle.filter { last($0) }
    }

    /// A connection to host `i` was made: it is up, and (with round-robin off) the one to keep using.
    public mutating func connected(_ i: Int) {
        failedAt[i] = nil
        current = i
    }

    /// A connection to host `i` could not be made.
    public mutating func failed(_ i: Int, now: Double) {
        failedAt[i] = now
        if current == i { current = (i + 1) % count }
    }

    public func isDown(_ i: Int, now: Double) -> Bool {
        guard let at = failedAt[i] else { return false }
        return now - at < downFor
    }

    private mutating func nextByWeight() -> Int {
        let total = weights.reduce(0, +)
        // All weights 0: plain rotation.
        guard total > 0 else {
            current = (current + 1) % count
            return current
        }
        var best = 0
        for i in 0..<count {
            scores[i] += weights[i]
            if scores[i] > scores[best] { best = i }
        }
        scores[best] -= total
        return best
    }
}
