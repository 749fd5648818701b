// auto_failover's decisions: when an entry has had no usable primary for long enough, and which replica to promote.

public enum Failover {
    /// One host of an entry as its last passing check found it.
    public struct Host: Sendable, Equatable {
        public var role: NodeRole
        public var up: Bool
        /// Drained or fenced: never a candidate, and a fenced primary does not count as one.
        public var closed: Bool
        public var lsn: UInt64
        public var timeline: UInt32?
        /// It has replayed all it received, or its last two checks read the same position: a replica still replaying
        /// may yet overtake the others, and two pgswift instances that read it at different moments could pick
        /// different candidates.
        public var settled: Bool

        public init(role: NodeRole, up: Bool = true, closed: Bool = false, lsn: UInt64 = 0, timeline: UInt32? = nil, settled: Bool = true) {
            self.role = role
            self.up = up
            self.closed = closed
            self.lsn = lsn
            self.timeline = timeline
            self.settled = settled
        }
    }

    public static func hasPrimary(_ hosts: [Host?]) -> Bool {
        hosts.contains { $0?.role == .primary && $0?.up == true && $0?.closed == false }
    }

    /// A replica that could be promoted is still replaying: the choice waits for the positions to stop moving, so that
    /// every pgswift instance reads the same ones and picks the same candidate (each takes its lock on the one it
    /// picked: two different picks would promote two).
    public static func settling(_ hosts: [Host?]) -> Bool {
        hosts.contains { $0?.role == .replica && $0?.up == true && $0?.closed == false && $0?.settled == false }
    }

    /// The replica that has the most of the old primary's history: the newest timeline, then the furthest replay
    /// position, ties to the first listed. Once the primary is gone, replicas stop receiving, so every pgswift that
    /// sees the same replicas picks the same one.
    public static func candidate(_ hosts: [Host?]) -> Int? {
        var best: (index: Int, host: Host)?
        for (i, host) in hosts.enumerated() {
            guard let host, host.role == .replica, host.up, !host.closed else { continue }
            if let b = best, ((b.host.timeline ?? 0), b.host.lsn) >= ((host.timeline ?? 0), host.lsn) { continue }
            best = (i, host)
        }
        return best?.index
    }

    /// How long an entry has been without a usable primary, and when pgswift last tried to promote one.
    public struct Watch: Sendable, Equatable {
        public private(set) var lostSince: Double?
        public private(set) var lastAttempt: Double?

        public init() {}

        /// True when a promotion is due now: no primary for `timeout`, and no attempt within the last `timeout`
        /// (one that failed, or another instance's, is given that long to show). `ready`: the candidate can be told
        /// (no replica still replaying); until then nothing is due, and no attempt is counted.
        public mutating func due(hasPrimary: Bool, ready: Bool = true, now: Double, timeout: Double) -> Bool {
            guard !hasPrimary else {
                lostSince = nil
                return false
            }
            let since = lostSince ?? now
            lostSince = since
            // A replica that never settles (recovery_min_apply_delay) holds the choice one more timeout at most.
            guard now - since >= timeout, ready || now - since >= 2 * timeout else { return false }
            if let last = lastAttempt, now - last < timeout { return false }
            lastAttempt = now
            return true
        }
    }
}
