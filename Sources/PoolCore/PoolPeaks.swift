// The most servers a pool had in use, the most clients queued at a full pool, and the clients that gave up waiting,
// over the current and the previous stats period.

/// Kept under the pool's lock and noted on every lease; the tuning advice reads it to tell a full pool from an idle one.
public struct PoolPeaks: Sendable, Equatable {
    public private(set) var active = 0
    public private(set) var waiting = 0
    public private(set) var waitTimeouts = 0
    public private(set) var previousActive = 0
    public private(set) var previousWaiting = 0
    public private(set) var previousWaitTimeouts = 0

    public init() {}

    /// `full`: every server the pool may have is open or opening. Clients queued while a server is still being
    /// opened (a warm-up burst) say nothing about the pool's size, so they are not counted.
    public mutating func note(active a: Int, waiting w: Int, full: Bool) {
        if a > active { active = a }
        if full, w > waiting { waiting = w }
    }

    /// A client gave up at query_wait_timeout.
    public mutating func noteWaitTimeout() {
        waitTimeouts += 1
    }

    /// Starts a new period (each stats_period): what the last one saw stays readable for one more period.
    public mutating func roll(active a: Int) {
        previousActive = active
        previousWaiting = waiting
        previousWaitTimeouts = waitTimeouts
        active = a
        waiting = 0
        waitTimeouts = 0
    }

    /// Over the two periods, so advice asked for just after a roll still sees the busy minute before it.
    public var recentActive: Int { max(active, previousActive) }
    public var recentWaiting: Int { max(waiting, previousWaiting) }
    public var recentWaitTimeouts: Int { waitTimeouts + previousWaitTimeouts }
}
