// Statement profiles kept by shape, so PostgreSQL's parser runs once per shape rather than once per statement.

/// Bounded: two generations of at most `capacity / 2` shapes each. A shape found in the older one moves to the
/// newer; when the newer is full it becomes the older and the older is dropped. Shapes in use stay, one-off shapes
/// age out, and no list is kept in use order. Not shared between threads: one per event loop.
public struct StatementProfiles: Sendable {
    private var current: [QueryShape: StatementProfile] = [:]
    private var previous: [QueryShape: StatementProfile] = [:]
    /// By prepared statement id (one exact text each, settings included): no scan of the text at all.
    private var byID: [Int: (profile: StatementProfile, hints: [String])] = [:]
    private let generationSize: Int
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init(capacity: Int = 10_000) {
        generationSize = max(1, capacity / 2)
    }

    public var count: Int { current.count + previous.count }

    /// The profile of `sql`, and the hints its comments carry.
    public mutating func profile(_ sql: UnsafeRawBufferPointer) -> (profile: StatementProfile, hints: [String]) {
        let shape = QueryShape(sql)
        if let known = current[shape] {
            hits += 1
            return (known, shape.hints)
        }
        if let known = previous.removeValue(forKey: shape) {
            hits += 1
            remember(known, for: shape)
            return (known, shape.hints)
        }
        misses += 1
        var profile = StatementProfiler.profile(String(decoding: sql, as: UTF8.self))
        // Read from the shape itself (literals and comments already out) when it stands for every text of it: the
        // text's own scan could read a literal differently (E'...' escapes) and teach that to the others.
        profile.sessionWords = shape.exact ? shape.key.withUnsafeBytes { SessionStateScan.words($0) } : SessionStateScan.words(sql)
        // Settings carry their values in literals, and a text the scan could not be sure of may not stand for others.
        if shape.exact && !profile.setsSession { remember(profile, for: shape) }
        return (profile, shape.hints)
    }

    /// The profile of the prepared statement `id`, whose text is `sql`. Bounded like the shapes: past the limit the
    /// ids start over (a prepared statement in use is back after one scan).
    public mutating func profile(id: Int, _ sql: UnsafeRawBufferPointer) -> (profile: StatementProfile, hints: [String]) {
        if let known = byID[id] {
            hits += 1
            return known
        }
        let found = profile(sql)
        if byID.count >= generationSize { byID.removeAll(keepingCapacity: true) }
        byID[id] = found
        return found
    }

    public mutating func profile(_ sql: String) -> (profile: StatementProfile, hints: [String]) {
        var s = sql
        return s.withUTF8 { profile(UnsafeRawBufferPointer($0)) }
    }

    private mutating func remember(_ profile: StatementProfile, for shape: QueryShape) {
        if current.count >= generationSize {
            previous = current
            current = [:]
            current.reserveCapacity(generationSize)
        }
        current[shape] = profile
    }
}
