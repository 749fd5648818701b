// One event loop's share of the in-process cache tier: its own store and counts (the store takes no lock; the
// versions a look-up reads are shared by the loops, behind one short lock).
import Config
import NIOCore
import ResultCache

/// Loop-confined, like LoopConnections, which holds it.
final class LoopCache: @unchecked Sendable {
    private(set) var settings: CacheSettings
    private(set) var store: L1Store<CacheKey, CachedAnswer>
    /// Safe reads no rule covers, and the writes seen (SHOW CACHE_CANDIDATES).
    var candidates = CacheCandidates()
    /// The functions that may write (the catalog's VOLATILE ones with write_functions), made again only when they
    /// change rather than per statement.
    private var writersFor: (volatile: Set<String>, result: Set<String>)?

    func writers(_ catalog: CatalogMap?) -> Set<String> {
        let volatile = catalog?.volatile ?? []
        if settings.writeFunctions.isEmpty { return volatile }
        if let memo = writersFor, memo.volatile == volatile { return memo.result }
        let result = volatile.union(settings.writeFunctions)
        writersFor = (volatile, result)
        return result
    }

    /// Each scope's catalog as last read: until it is known, nothing of that scope is looked up or kept.
    var catalogs: [String: CatalogMap] = [:]
    /// Requests the policy sent on to a server without a look-up (unsafe, no rule, a `no cache` comment).
    var passes = 0
    /// Answers kept, and those that came back too big or not plain, or whose tables moved while they ran.
    var stored = 0
    /// Misses answered by another client's identical miss (counted as hits in SHOW CACHE, not as misses).
    var followerHits = 0
    var followerMisses = 0
    var notKept = 0
    /// How long look-ups took, in nanoseconds (SHOW CACHE's percentiles).
    var lookupNanos = LatencyRing()
    private let loops: Int

    init(settings: CacheSettings, loops: Int) {
        self.settings = settings
        self.loops = max(loops, 1)
        store = L1Store(capacity: settings.l1MaxBytes / max(loops, 1), policy: settings.eviction)
    }

    /// A new load: the store is made again only if its size or policy changed.
    func apply(_ new: CacheSettings) {
        if new.l1MaxBytes != settings.l1MaxBytes || new.eviction != settings.eviction {
            store = L1Store(capacity: new.l1MaxBytes / loops, policy: new.eviction)
        }
        settings = new
        writersFor = nil
    }

    func get(_ key: CacheKey, now: Double) -> CachedAnswer? {
        store.get(key, now: now)
    }

    func put(_ key: CacheKey, _ answer: CachedAnswer, ttl: Double, now: Double) {
        // The key's material and the answer's bytes are what the budget counts (plus the store's fixed overhead).
        if store.put(key, answer, bytes: key.bytes + answer.bytes.readableBytes, expires: now + ttl) { stored += 1 } else { notKept += 1 }
    }

    func removeAll(where matches: (CachedAnswer) -> Bool) -> Int {
        store.removeAll(whereValue: matches)
    }

    func clear() -> Int {
        let n = store.count
        store.removeAll()
        return n
    }
}

/// The last 1024 samples, for percentiles on demand (SHOW CACHE): fixed memory, no allocation per sample.
struct LatencyRing: Sendable {
    private var samples = [UInt64](repeating: 0, count: 1024)
    private var next = 0
    private(set) var count = 0

    mutating func add(_ nanos: UInt64) {
        samples[next] = nanos
        next = (next + 1) & 1023
        count = min(count + 1, 1024)
    }

    /// The percentile `p` (0...1) of the samples kept, nil with none.
    func percentile(_ p: Double) -> UInt64? {
        guard count > 0 else { return nil }
        let sorted = samples[0..<count].sorted()
        return sorted[min(count - 1, Int(Double(count - 1) * p + 0.5))]
    }

    static func merged(_ rings: [LatencyRing]) -> LatencyRing {
        var out = LatencyRing()
        out.samples = []
        for r in rings { out.samples += r.samples[0..<r.count] }
        out.count = out.samples.count
        return out
    }
}
