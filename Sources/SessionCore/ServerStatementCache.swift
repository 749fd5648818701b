// Which shared prepared statements one server connection holds, at most `capacity`, least recently used out first.
/// Names carry a generation: after a DEALLOCATE ALL or DISCARD ALL that may not have run (it can fail inside a
/// transaction), new Parses use fresh names rather than risk "already exists" on a statement that survived.
public struct ServerStatementCache: Sendable, Equatable {
    public let capacity: Int
    private var lastUse: [Int: UInt64] = [:]
    private var clock: UInt64 = 0
    public private(set) var generation = 0
    /// The plan epoch each statement was prepared in, and the current one (set by the caller before rewriting): once a
    /// server reported a stale cached plan, statements prepared before are prepared again.
    private var preparedIn: [Int: Int] = [:]
    public var schemaEpoch = 0

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public var count: Int { lastUse.count }
    public var statements: Set<Int> { Set(lastUse.keys) }

    /// The server-side name of a shared statement.
    public func name(of statement: Int) -> String {
        generation == 0 ? "pgswift_\(statement)" : "pgswift_\(statement)_\(generation)"
    }

    /// True if the server holds the statement (prepared since the last DDL); marks it used.
    public mutating func use(_ statement: Int) -> Bool {
        guard lastUse[statement] != nil, preparedIn[statement, default: 0] >= schemaEpoch else { return false }
        clock += 1
        lastUse[statement] = clock
        return true
    }

    /// The server holds the statement, but from before the last DDL: it must be closed before it is prepared again.
    public func isStale(_ statement: Int) -> Bool {
        lastUse[statement] != nil && preparedIn[statement, default: 0] < schemaEpoch
    }

    /// Records that the statement is being prepared; returns the one to close first when the cache is full.
    public mutating func insert(_ statement: Int) -> Int? {
        var evicted: Int?
        if lastUse[statement] == nil, capacity > 0, lastUse.count >= capacity {
            // A linear scan on eviction only: capacity is a few hundred at most, and hits never scan.
            evicted = lastUse.min { $0.value < $1.value }?.key
            if let evicted {
                lastUse[evicted] = nil
                preparedIn[evicted] = nil
            }
        }
        clock += 1
        lastUse[statement] = clock
        preparedIn[statement] = schemaEpoch
        return evicted
    }

    /// The server still holds the statement although it was taken off (its Close was skipped after an error): it is
    /// known again, as stale, so that its next use closes it before preparing it.
    public mutating func markStale(_ statement: Int) {
        clock += 1
        lastUse[statement] = clock
        preparedIn[statement] = -1
    }

    public mutating func remove(_ statement: Int) {
        lastUse[statement] = nil
        preparedIn[statement] = nil
    }

    /// The server dropped (or may have dropped) all its statements.
    public mutating func removeAll() {
        lastUse.removeAll()
        preparedIn.removeAll()
        generation += 1
    }
}
