// The result cache's in-process tier as a value: entries bounded in bytes, expiring at times passed in, evicted by
// S3-FIFO (scan-resistant) or plain LRU (the baseline it is measured against). One per event loop: no lock on a hit.

/// How the store picks what to drop when it is over its byte budget.
public enum EvictionPolicy: String, Sendable, CaseIterable {
    /// S3-FIFO (Yang et al., SOSP 2023): new entries go to a small queue (a tenth of the bytes); only those read again
    /// while there move to the main queue, so a scan of one-off reads passes through the small queue without pushing
    /// out what is read often. Keys dropped from the small queue are remembered (a ghost queue): one that comes back
    /// goes straight to the main queue.
    case s3fifo
    /// Least recently used.
    case lru
}

public struct L1Store<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// What an entry costs beyond its value's bytes (its slot, its key's place in the index, its queue references):
    /// counted so that many small entries cannot overrun the budget.
    public static var entryOverhead: Int { 96 }

    struct Slot: Sendable {
        var key: Key
        var value: Value
        var bytes: Int
        var expires: Double
        /// Reads since it entered its queue, at most 3 (S3-FIFO); the stamp of its latest reference (LRU).
        var freq: UInt8 = 0
        var inMain = false
        var stamp: UInt32 = 0
    }

    /// A queue's reference to a slot: stale once the slot is freed or (LRU) read again since.
    struct Ref: Sendable {
        var slot: Int32
        var stamp: UInt32
    }

    public let policy: EvictionPolicy
    public let capacity: Int
    private var slots: [Slot?] = []
    private var free: [Int32] = []
    private var index: [Key: Int32] = [:]
    private var small = FIFOQueue<Ref>()
    private var main = FIFOQueue<Ref>()
    private var ghost = FIFOQueue<Key>()
    private var ghostKeys: Set<Key> = []
    private var smallBytes = 0
    private var mainBytes = 0
    private var nextStamp: UInt32 = 0

    public private(set) var hits = 0
    public private(set) var misses = 0
    public private(set) var evictions = 0
    public private(set) var expirations = 0

    public init(capacity: Int, policy: EvictionPolicy = .s3fifo) {
        self.capacity = max(0, capacity)
        self.policy = policy
    }

    /// Bytes held, entries' overhead included: never above `capacity` after a call returns.
    public var bytes: Int { smallBytes + mainBytes }
    public var count: Int { index.count }

    // MARK: reads

    /// The entry's value, unless it is missing or expired at `now` (then it is dropped).
    public mutating func get(_ key: Key, now: Double) -> Value? {
        guard let i = index[key], let slot = slots[Int(i)] else {
            misses += 1
            return nil
        }
        if slot.expires <= now {
            drop(i)
            expirations += 1
            misses += 1
            return nil
        }
        hits += 1
        switch policy {
        case .s3fifo:
            if slot.freq < 3 { slots[Int(i)]!.freq += 1 }
        case .lru:
            let stamp = stamped()
            slots[Int(i)]!.stamp = stamp
            main.push(Ref(slot: i, stamp: stamp))
            compactLRU()
        }
        return slot.value
    }

    // MARK: writes

    /// Stores `value` (`bytes` of it) until `expires`. False when it alone would not fit the budget: it is not kept
    /// (and an older entry under the key is dropped, as it no longer says what the key's answer is).
    @discardableResult
    public mutating func put(_ key: Key, _ value: Value, bytes: Int, expires: Double) -> Bool {
        let cost = max(0, bytes) + Self.entryOverhead
        if let i = index[key] { drop(i) }
        guard cost <= capacity else { return false }
        let stamp = stamped()
        var slot = Slot(key: key, value: value, bytes: cost, expires: expires, stamp: stamp)
        switch policy {
        case .s3fifo:
            // Dropped from the small queue not long ago and wanted again: it is read often enough for the main one.
            slot.inMain = ghostKeys.remove(key) != nil
        case .lru:
            slot.inMain = true
        }
        let i = allocate(slot)
        index[key] = i
        if slot.inMain {
            mainBytes += cost
            main.push(Ref(slot: i, stamp: stamp))
        } else {
            smallBytes += cost
            small.push(Ref(slot: i, stamp: stamp))
        }
        while self.bytes > capacity { evictOne() }
        return true
    }

    /// Drops the entry (an invalidation).
    public mutating func remove(_ key: Key) {
        if let i = index[key] { drop(i) }
    }

    /// Drops every entry whose key `matches` (a table's version moved, a tag, a database's flush).
    public mutating func removeAll(where matches: (Key) -> Bool) {
        for (key, i) in index where matches(key) { drop(i) }
    }

    /// Drops every entry whose value `matches` (a tag, a table, a fingerprint); how many went.
    @discardableResult
    public mutating func removeAll(whereValue matches: (Value) -> Bool) -> Int {
        var doomed: [Int32] = []
        for i in index.values { if let slot = slots[Int(i)], matches(slot.value) { doomed.append(i) } }
        for i in doomed { drop(i) }
        return doomed.count
    }

    public mutating func removeAll() {
        slots.removeAll()
        free.removeAll()
        index.removeAll()
        small.removeAll()
        main.removeAll()
        ghost.removeAll()
        ghostKeys.removeAll()
        smallBytes = 0
        mainBytes = 0
    }

    // MARK: eviction

    private mutating func evictOne() {
        switch policy {
        case .lru:
            evictLRU()
        case .s3fifo:
            // The small queue keeps about a tenth of the bytes; past that (or with nothing in the main one) it gives.
            if smallBytes > capacity / 10 || mainBytes == 0 { evictSmall() } else { evictMain() }
        }
    }

    /// The oldest entry of the small queue: read again since it came, it moves to the main queue (and the loop goes
    /// on); else it is dropped, and its key remembered in the ghost queue.
    private mutating func evictSmall() {
        while let ref = small.pop() {
            guard let slot = live(ref) else { continue }
            if slot.freq > 0 {
                slots[Int(ref.slot)]!.freq = 0
                slots[Int(ref.slot)]!.inMain = true
                smallBytes -= slot.bytes
                mainBytes += slot.bytes
                main.push(ref)
                continue
            }
            remember(slot.key)
            drop(ref.slot)
            evictions += 1
            return
        }
        evictMain()
    }

    /// The oldest entry of the main queue: read since its last turn, it goes round again with one read less.
    private mutating func evictMain() {
        while let ref = main.pop() {
            guard let slot = live(ref) else { continue }
            if slot.freq > 0 {
                slots[Int(ref.slot)]!.freq -= 1
                main.push(ref)
                continue
            }
            drop(ref.slot)
            evictions += 1
            return
        }
        // Only the small queue holds bytes (its entries all read again, now moved): start over there.
        if smallBytes > 0 { evictSmall() }
    }

    private mutating func evictLRU() {
        while let ref = main.pop() {
            guard live(ref) != nil else { continue }
            drop(ref.slot)
            evictions += 1
            return
        }
    }

    /// The ghost queue holds as many keys as the main queue has entries, at least 64.
    private mutating func remember(_ key: Key) {
        guard ghostKeys.insert(key).inserted else { return }
        ghost.push(key)
        let limit = max(64, index.count)
        while ghost.count > limit, let old = ghost.pop() { ghostKeys.remove(old) }
    }

    // MARK: slots

    private func live(_ ref: Ref) -> Slot? {
        guard let slot = slots[Int(ref.slot)], slot.stamp == ref.stamp else { return nil }
        return slot
    }

    private mutating func allocate(_ slot: Slot) -> Int32 {
        if let i = free.popLast() {
            slots[Int(i)] = slot
            return i
        }
        slots.append(slot)
        return Int32(slots.count - 1)
    }

    private mutating func drop(_ i: Int32) {
        guard let slot = slots[Int(i)] else { return }
        if slot.inMain { mainBytes -= slot.bytes } else { smallBytes -= slot.bytes }
        index[slot.key] = nil
        slots[Int(i)] = nil
        free.append(i)
    }

    private mutating func stamped() -> UInt32 {
        nextStamp &+= 1
        return nextStamp
    }

    /// LRU pushes a reference per read: when stale ones outnumber the live, the queue is rebuilt from the live.
    private mutating func compactLRU() {
        guard main.count > 64, main.count > 4 * index.count else { return }
        var kept: [Ref] = []
        kept.reserveCapacity(index.count)
        while let ref = main.pop() {
            if live(ref) != nil { kept.append(ref) }
        }
        for ref in kept { main.push(ref) }
    }
}
