// The most servers a pool had in use, and the most clients queued, over the current and the previous stats period.

/// Kept under the pool's lock and noted on every lease; the tuning advice reads it to tell a full pool from an idle one.
public struct PoolPeaks: Sendable, Equatable {
    public private(set) var active = 0
    public private(set) var waiting = 0
    public private(set) var previousActive = 0
    public private(set) var previousWaiting = 0

    public init() {}

    public mutating func note(active a: Int, waiting w: Int) {
        if a > active { active = a }
        if w > waiting { waiting = w }
    }

    /// Starts a new period (each stats_period): what the last one saw stays readable for one more period.
    public mutating func roll(active a: Int, waiting w: Int) {
        previousActive = active
        previousWaiting = waiting
        active = a
        waiting = w
    }

    /// Over the two periods, so advice asked for just after a roll still sees the busy minute before it.
    public var recentActive: Int { max(active, previousActive) }
    public var recentWaiting: Int { max(waiting, previousWaiting) }
}
