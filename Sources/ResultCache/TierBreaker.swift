// The circuit breaker of one remote cache tier (Redis, Memcached): failures in a row open it, and while open the
// tier is skipped at once; after a pause one probe is let through, and its outcome closes or reopens it.
public struct TierBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case closed
        case open(until: Double)
        /// One probe is out; everything else skips the tier until it answers.
        case halfOpen
    }

    public private(set) var state = State.closed
    public private(set) var failuresInARow = 0
    /// Times the breaker opened (SHOW CACHE, metrics).
    public private(set) var openings = 0
    private var pause: Double
    public let threshold: Int
    public let firstPause: Double
    public let maxPause: Double

    /// Opens after `threshold` failures in a row, for `firstPause` seconds, doubled after each failed probe up to
    /// `maxPause`: a tier that comes back is used again within seconds.
    public init(threshold: Int = 3, firstPause: Double = 1, maxPause: Double = 8) {
        self.threshold = threshold
        self.firstPause = firstPause
        self.maxPause = maxPause
        pause = firstPause
    }

    /// Whether an operation may use the tier now (the half-open probe included).
    public mutating func allow(now: Double) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        case .halfOpen:
            return false
        }
    }

    public var isOpen: Bool { state != .closed }

    public mutating func succeeded() {
        state = .closed
        failuresInARow = 0
        pause = firstPause
    }

    public mutating func failed(now: Double) {
        failuresInARow += 1
        switch state {
        case .closed:
            guard failuresInARow >= threshold else { return }
            openings += 1
            state = .open(until: now + pause)
        case .halfOpen:
            pause = min(pause * 2, maxPause)
            openings += 1
            state = .open(until: now + pause)
        case .open:
            break
        }
    }
}
