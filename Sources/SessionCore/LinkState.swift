// What a client uses only while it has a server, kept out of line so that an idle client carries one empty reference.
import NIOCore

/// The link's count and clock, its frames and replies on their way, the retry batch, the describe gate and the lent
/// statements: about 130 bytes that every idle client would otherwise hold for nothing. Copied on write (a shared box
/// is never changed, which is what makes it safe to send); created at the first change, and given back to a
/// `LinkShelf` when the link ends so the next link on that loop reuses it, arrays' storage included.
public struct LinkState: Sendable {
    /// Separate stored properties, not one struct: a rewrite changes the replacement frames and the replies at once.
    final class Box: @unchecked Sendable {
        /// What was sent on the current link, to know when the server may go back.
        var tracker = LinkTracker()
        /// What the server answered, its status, when its transaction began (the timeouts' link part).
        var clock = LinkClock()
        /// The batch being answered, kept for one retry after a stale cached plan.
        var lastBatch = RetryableBatch()
        /// Frames for the server, and the replies they will get; taken by the handler at the end of each read.
        var outgoing: [ByteBuffer] = []
        var expected: [PendingReply] = []
        /// Frames that replace the one just dropped, written at the next cut.
        var replacement: [ByteBuffer] = []
        /// Frames held from a Bind that waits for its statement's description on the server.
        var gate = DescribeGate()
        /// The linked server's prepared statements, lent for the link.
        var lent = ServerStatementCache(capacity: 0)
        /// Statement texts sent on the link that the result cache has yet to read for writes.
        var seen: [ByteBuffer] = []

        init() {}

        init(copying other: Box) {
            tracker = other.tracker
            clock = other.clock
            lastBatch = other.lastBatch
            outgoing = other.outgoing
            expected = other.expected
            replacement = other.replacement
            gate = other.gate
            lent = other.lent
            seen = other.seen
        }

        /// Ready for another link: the arrays keep their storage unless a big batch grew it.
        func reset() {
            tracker = LinkTracker()
            clock = LinkClock()
            lastBatch = RetryableBatch()
            Self.empty(&outgoing)
            Self.empty(&expected)
            Self.empty(&replacement)
            gate = DescribeGate()
            lent = ServerStatementCache(capacity: 0)
            Self.empty(&seen)
        }

        private static func empty<T>(_ list: inout [T]) {
            list.removeAll(keepingCapacity: list.capacity <= LinkShelf.keptCapacity)
        }
    }

    private(set) var box: Box?

    public init() {}

    /// Whether the link's storage is held (for tests of what an idle client keeps).
    public var isAllocated: Bool { box != nil }

    /// The box to change: made on first use, copied if shared.
    @inline(__always) mutating func storage() -> Box {
        if !isKnownUniquelyReferenced(&box) { box = box.map(Box.init(copying:)) ?? Box() }
        return box.unsafelyUnwrapped
    }

    var tracker: LinkTracker {
        get { box?.tracker ?? LinkTracker() }
        _modify { let b = storage(); yield &b.tracker }
    }
    var clock: LinkClock {
        get { box?.clock ?? LinkClock() }
        _modify { let b = storage(); yield &b.clock }
    }
    var lastBatch: RetryableBatch {
        get { box?.lastBatch ?? RetryableBatch() }
        _modify { let b = storage(); yield &b.lastBatch }
    }
    var outgoing: [ByteBuffer] {
        get { box?.outgoing ?? [] }
        _modify { let b = storage(); yield &b.outgoing }
    }
    var expected: [PendingReply] {
        get { box?.expected ?? [] }
        _modify { let b = storage(); yield &b.expected }
    }
    var replacement: [ByteBuffer] {
        get { box?.replacement ?? [] }
        _modify { let b = storage(); yield &b.replacement }
    }
    var gate: DescribeGate {
        get { box?.gate ?? DescribeGate() }
        _modify { let b = storage(); yield &b.gate }
    }
    var lent: ServerStatementCache {
        get { box?.lent ?? ServerStatementCache(capacity: 0) }
        _modify { let b = storage(); yield &b.lent }
    }

    var seen: [ByteBuffer] {
        get { box?.seen ?? [] }
        _modify { let b = storage(); yield &b.seen }
    }

    /// Hands the storage over, leaving this link without any.
    mutating func take() -> Box? {
        defer { box = nil }
        return box
    }

    /// Starts from `box` (emptied), which this link then owns.
    mutating func adopt(_ box: Box) {
        self.box = box
    }
}

/// One event loop's spare link storage: a link takes one, an ended link gives its own back, so that a client moving
/// between servers allocates nothing once the loop is warm, while idle clients hold none. Bounded: past `limit`
/// spares (more links ended at once than this loop usually has), storage is freed.
public struct LinkShelf: Sendable {
    private var spare: [LinkState.Box] = []
    /// Arrays grown past this (a big pipelined batch) give their storage back rather than keep it on the shelf.
    static let keptCapacity = 64
    public static let limit = 256

    public init() {}

    public var count: Int { spare.count }

    /// The client starts a link: with spare storage when there is some.
    public mutating func lend(to session: inout ClientSession) {
        guard !session.link.isAllocated, let box = spare.popLast() else { return }
        session.link.adopt(box)
    }

    /// The client's link ended: its storage, emptied, waits for the next link. A box still shared (a copy of the
    /// session kept somewhere) is left to its other owner.
    public mutating func takeBack(from session: inout ClientSession) {
        guard var box = session.link.take(), spare.count < Self.limit, isKnownUniquelyReferenced(&box) else { return }
        box.reset()
        spare.append(box)
    }
}
