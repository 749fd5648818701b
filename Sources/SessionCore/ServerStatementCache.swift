// Which shared prepared statements one server connection holds, at most `capacity`, least recently used out first.
/// Names carry a generation: after a DEALLOCATE ALL or DISCARD ALL that may not have run (it can fail inside a
/// transaction), new Parses use fresh names rather than risk "already exists" on a statement that survived.
public struct ServerStatementCache: Sendable, Equatable {
    private struct Contents: Equatable {
        let capacity: Int
        var lastUse: [Int: UInt64] = [:]
        var clock: UInt64 = 0
        var generation = 0
        /// Statements the server still holds under their name although they were taken off (their Close was skipped
        /// after an error): closed before they are prepared again.
        var stale: Set<Int> = []
        /// What a Describe of the statement answered on this server: PostgreSQL fixes it when the statement is
        /// prepared and raises "cached plan must not change result type" rather than let it change. Unknown until
        /// described there.
        var shapes: [Int: StatementShape] = [:]
    }

    /// One reference, copied on write: the cache is lent between a server and its client by moving it, and every
    /// idle client holds an empty one, so it is a pointer wide rather than six fields. A shared box is never
    /// changed (a change first copies it), which is what makes it safe to send.
    private final class Box: @unchecked Sendable {
        var contents: Contents
        init(_ contents: Contents) { self.contents = contents }
    }

    private var box: Box
    /// The one empty box every capacity-0 cache (an idle client's stand-in) shares.
    private static let empty = Box(Contents(capacity: 0))

    private var contents: Contents {
        get { box.contents }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.contents) }
            yield &box.contents
        }
    }

    public var capacity: Int { box.contents.capacity }
    public var generation: Int { box.contents.generation }
    private var lastUse: [Int: UInt64] {
        get { box.contents.lastUse }
        _modify { yield &contents.lastUse }
    }
    private var clock: UInt64 {
        get { box.contents.clock }
        _modify { yield &contents.clock }
    }
    private var stale: Set<Int> {
        get { box.contents.stale }
        _modify { yield &contents.stale }
    }
    private var shapes: [Int: StatementShape] {
        get { box.contents.shapes }
        _modify { yield &contents.shapes }
    }

    public init(capacity: Int) {
        box = capacity == 0 ? Self.empty : Box(Contents(capacity: capacity))
    }

    public static func == (a: ServerStatementCache, b: ServerStatementCache) -> Bool {
        a.box === b.box || a.box.contents == b.box.contents
    }

    public var count: Int { lastUse.count }
    public var statements: Set<Int> { Set(lastUse.keys) }

    /// The server-side name of a shared statement.
    public func name(of statement: Int) -> String {
        generation == 0 ? "pgswift_\(statement)" : "pgswift_\(statement)_\(generation)"
    }

    /// True if the server holds the statement, usable; marks it used.
    public mutating func use(_ statement: Int) -> Bool {
        guard lastUse[statement] != nil, !stale.contains(statement) else { return false }
        clock += 1
        lastUse[statement] = clock
        return true
    }

    /// The server holds the statement, but it was taken off: it must be closed before it is prepared again.
    public func isStale(_ statement: Int) -> Bool {
        stale.contains(statement)
    }

    /// Records that the statement is being prepared; returns the one to close first when the cache is full.
    public mutating func insert(_ statement: Int) -> Int? {
        var evicted: Int?
        if lastUse[statement] == nil, capacity > 0, lastUse.count >= capacity {
            // A linear scan on eviction only: capacity is a few hundred at most, and hits never scan.
            evicted = lastUse.min { $0.value < $1.value }?.key
            if let evicted { remove(evicted) }
        }
        clock += 1
        lastUse[statement] = clock
        stale.remove(statement)
        shapes[statement] = nil
        return evicted
    }

    /// The statement's parameter types and result columns on this server, if a Describe of it said.
    public func shape(of statement: Int) -> StatementShape? {
        shapes[statement]
    }

    /// A Describe of the statement answered `shape` here (ignored if the server no longer holds it).
    public mutating func setShape(_ shape: StatementShape, of statement: Int) {
        guard lastUse[statement] != nil, !stale.contains(statement) else { return }
        shapes[statement] = shape
    }

    /// The server still holds the statement although it was taken off (its Close was skipped after an error): it is
    /// known again, as stale, so that its next use closes it before preparing it.
    public mutating func markStale(_ statement: Int) {
        clock += 1
        lastUse[statement] = clock
        stale.insert(statement)
        shapes[statement] = nil
    }

    public mutating func remove(_ statement: Int) {
        lastUse[statement] = nil
        stale.remove(statement)
        shapes[statement] = nil
    }

    /// The server dropped (or may have dropped) all its statements.
    public mutating func removeAll() {
        lastUse.removeAll()
        stale.removeAll()
        shapes.removeAll()
        contents.generation += 1
    }
}
