// L1Store: reads, expiry, invalidation, the byte budget under any sequence of operations, and S3-FIFO against LRU
// on a skewed trace with a scan.
import Testing
@testable import ResultCache

/// SplitMix64: a seeded generator, so every trace is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("L1 store")
struct L1StoreTests {
    static let overhead = L1Store<Int, String>.entryOverhead

    @Test(arguments: EvictionPolicy.allCases)
    func anEntryIsReadUntilItExpires(_ policy: EvictionPolicy) {
        var store = L1Store<Int, String>(capacity: 10_000, policy: policy)
        let kept = store.put(1, "one", bytes: 3, expires: 10)
        #expect(kept)
        #expect(store.get(1, now: 9.9) == "one")
        #expect(store.get(1, now: 10) == nil)
        #expect(store.count == 0 && store.bytes == 0)
        #expect(store.hits == 1 && store.misses == 1 && store.expirations == 1)
    }

    @Test(arguments: EvictionPolicy.allCases)
    func invalidationDropsWhatMatches(_ policy: EvictionPolicy) {
        var store = L1Store<String, Int>(capacity: 100_000, policy: policy)
        for (i, key) in ["orders:1", "orders:2", "users:1"].enumerated() { store.put(key, i, bytes: 10, expires: .infinity) }
        store.removeAll { $0.hasPrefix("orders:") }
        #expect(store.get("orders:1", now: 0) == nil && store.get("orders:2", now: 0) == nil && store.get("users:1", now: 0) == 2)
        store.remove("users:1")
        #expect(store.count == 0 && store.bytes == 0)
    }

    @Test(arguments: EvictionPolicy.allCases)
    func aNewAnswerReplacesTheOldAndOneTooBigIsNotKept(_ policy: EvictionPolicy) {
        var store = L1Store<Int, String>(capacity: 1_000, policy: policy)
        store.put(1, "old", bytes: 100, expires: .infinity)
        store.put(1, "new", bytes: 200, expires: .infinity)
        #expect(store.get(1, now: 0) == "new" && store.bytes == 200 + Self.overhead)
        // Bigger than the whole budget: not kept, and the key's older answer is gone with it.
        let keptHuge = store.put(1, "huge", bytes: 5_000, expires: .infinity)
        #expect(!keptHuge)
        #expect(store.get(1, now: 0) == nil && store.bytes == 0)
    }

    /// Whatever the operations, the bytes held stay within the budget and match the entries kept.
    @Test(arguments: EvictionPolicy.allCases)
    func theBudgetHoldsUnderRandomOperations(_ policy: EvictionPolicy) {
        var rng = SeededGenerator(state: 42)
        let capacity = 20_000
        var store = L1Store<Int, Int>(capacity: capacity, policy: policy)
        var sizes: [Int: Int] = [:]
        for step in 0..<20_000 {
            let key = Int.random(in: 0..<500, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                if store.get(key, now: Double(step)) == nil { sizes[key] = nil }
            case 5..<9:
                let size = Int.random(in: 0..<2_000, using: &rng)
                if store.put(key, step, bytes: size, expires: Double(step + Int.random(in: 1..<500, using: &rng))) {
                    sizes[key] = size + Self.overhead
                } else {
                    sizes[key] = nil
                }
            default:
                store.remove(key)
                sizes[key] = nil
            }
            #expect(store.bytes <= capacity)
            if store.bytes > capacity { return }
        }
        // Every entry the store still holds was put with the size it counts (evicted ones are gone from both).
        let kept = sizes.filter { store.get($0.key, now: 0) != nil }
        #expect(store.count == kept.count)
        #expect(store.bytes == kept.values.reduce(0, +))
    }

    /// A skewed trace with scans: 30 rounds of 2,000 reads (90% on 300 hot keys, the rest on 10,000 cold ones), each
    /// followed by a scan of 1,000 keys read once (a report, a backfill). The budget holds about 400 entries: the hot
    /// keys fit, a scan does not. Misses are stored, as the cache would.
    static func hitRatio(_ policy: EvictionPolicy) -> Double {
        var rng = SeededGenerator(state: 7)
        var store = L1Store<Int, Int>(capacity: 400 * (100 + overhead), policy: policy)
        var reads: [Int] = []
        for round in 0..<30 {
            for _ in 0..<2_000 {
                reads.append(Int.random(in: 0..<10, using: &rng) < 9 ? Int.random(in: 0..<300, using: &rng) : Int.random(in: 1_000..<11_000, using: &rng))
            }
            reads += (0..<1_000).map { 1_000_000 + round * 1_000 + $0 }
        }
        for key in reads where store.get(key, now: 0) == nil { store.put(key, key, bytes: 100, expires: .infinity) }
        return Double(store.hits) / Double(reads.count)
    }

    @Test func s3fifoKeepsTheHotKeysThroughAScanBetterThanLRU() {
        let s3 = Self.hitRatio(.s3fifo), lru = Self.hitRatio(.lru)
        // docs/BENCHMARKS.md quotes this trace's figures (0.596 against 0.493; 0.600 is the most any policy gets, as
        // the scans' reads all miss); the margin asked here is half the gap.
        #expect(s3 > lru + 0.05, "S3-FIFO \(s3), LRU \(lru)")
    }

    @Test func aKeyDroppedFromTheSmallQueueComesBackToTheMainOne() {
        // Room for three entries; the small queue's tenth of it holds less than one, so each new entry pushes out the
        // oldest small one.
        var store = L1Store<Int, Int>(capacity: 3 * (10 + Self.overhead), policy: .s3fifo)
        for key in 0..<4 { store.put(key, key, bytes: 10, expires: .infinity) }
        #expect(store.get(0, now: 0) == nil)
        // 0 was remembered when dropped: back now, it goes to the main queue, and a run of one-off keys passes it by.
        store.put(0, 0, bytes: 10, expires: .infinity)
        _ = store.get(0, now: 0)
        for key in 100..<110 { store.put(key, key, bytes: 10, expires: .infinity) }
        #expect(store.get(0, now: 0) == 0)
    }
}
