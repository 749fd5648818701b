// What `cache = auto` learns without caching anything: per statement fingerprint, how often the same read comes again
// and how often the tables it reads are written, so an operator can see which rules would pay.
public struct CacheCandidates: Sendable {
    public struct Entry: Sendable, Equatable {
        public var fingerprint: UInt64
        /// One text of the statement, as a client sent it (literals included), for the operator to recognise it.
        public var sample: String
        public var tables: [String]
        public var reads = 0
        /// Reads whose whole request (parameters, settings) had been seen before: what a cache would have answered.
        public var repeats = 0
    }

    /// Bounded: past this many fingerprints the least read one gives way.
    public let limit: Int
    public private(set) var entries: [UInt64: Entry] = [:]
    /// Requests seen per fingerprint (hashes of their keys), bounded the same way.
    private var seen: [UInt64: Set<Int>] = [:]
    public private(set) var writes: [String: Int] = [:]
    static let keysPerFingerprint = 4096

    public init(limit: Int = 1000) { self.limit = limit }

    /// A safe read no rule covers (or any safe read, under `cache = auto`); `key`: the hash of its whole cache key.
    public mutating func read(fingerprint: UInt64, key: Int, tables: [String], sample: @autoclosure () -> String) {
        if entries[fingerprint] == nil {
            if entries.count >= limit, let least = entries.values.min(by: { $0.reads < $1.reads }) {
                entries[least.fingerprint] = nil
                seen[least.fingerprint] = nil
            }
            entries[fingerprint] = Entry(fingerprint: fingerprint, sample: String(sample().prefix(200)), tables: tables)
        }
        entries[fingerprint]?.reads += 1
        var keys = seen[fingerprint] ?? []
        if keys.contains(key) {
            entries[fingerprint]?.repeats += 1
        } else if keys.count < Self.keysPerFingerprint {
            keys.insert(key)
        }
        seen[fingerprint] = keys
    }

    public mutating func wrote(_ tables: [String]) {
        for t in tables { writes[t, default: 0] += 1 }
    }

    /// Another loop's counts added to these (SHOW CACHE_CANDIDATES sums the loops).
    public mutating func merge(_ other: CacheCandidates) {
        for (f, e) in other.entries {
            if var mine = entries[f] {
                mine.reads += e.reads
                mine.repeats += e.repeats
                entries[f] = mine
            } else {
                entries[f] = e
            }
        }
        writes.merge(other.writes, uniquingKeysWith: +)
    }
}
