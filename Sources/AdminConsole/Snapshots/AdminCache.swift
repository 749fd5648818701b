// What SHOW CACHE lists (one row per tier), and what CACHE INVALIDATE names.

public struct AdminCacheTier: Sendable, Equatable {
    /// l1, l2 or l3.
    public var tier: String
    public var entries: Int
    public var bytes: Int
    public var maxBytes: Int
    public var hits: Int
    public var misses: Int
    public var evictions: Int
    /// Answers kept, and those not kept (too big, not plain, their tables moved while they ran).
    public var stored: Int
    public var notKept: Int
    /// Look-up time percentiles, in milliseconds (nil before any look-up).
    public var p50Milliseconds: Double?
    public var p99Milliseconds: Double?
    /// Operations that failed or timed out (a remote tier), and the tier's state: on, off (why), or its breaker's.
    public var errors = 0
    public var state = "on"

    public init(tier: String, entries: Int = 0, bytes: Int = 0, maxBytes: Int = 0, hits: Int = 0, misses: Int = 0, evictions: Int = 0,
                stored: Int = 0, notKept: Int = 0, p50Milliseconds: Double? = nil, p99Milliseconds: Double? = nil) {
        self.tier = tier
        self.entries = entries
        self.bytes = bytes
        self.maxBytes = maxBytes
        self.hits = hits
        self.misses = misses
        self.evictions = evictions
        self.stored = stored
        self.notKept = notKept
        self.p50Milliseconds = p50Milliseconds
        self.p99Milliseconds = p99Milliseconds
    }
}

/// What CACHE INVALIDATE drops.
public enum AdminCacheTarget: Sendable, Equatable {
    /// Every answer that read this table (schema-qualified or not: the bare name is what versions follow).
    case table(String)
    case tag(String)
    /// libpg_query's fingerprint, as hexadecimal.
    case fingerprint(UInt64)
    /// A glob (`*`, `?`) over the tables and tags of each answer.
    case pattern(String)
}
