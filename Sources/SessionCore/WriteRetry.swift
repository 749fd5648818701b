// A unit of work sent to a node by its role, kept as the client sent it until its answer starts: a node that refuses a
// write with 25006 (demoted since its last check, or a replica running a function that writes) is not the last word.
import NIOCore
import PGWire

/// What a retry of a refused write replays: the BEGIN statements the link already answered (run again on the new
/// server out of the client's sight) and the batch in flight, byte for byte. Only a batch that changes nothing but
/// the server's own state can be sent twice: plain queries, unnamed statements, Binds, Describes, Executes, Syncs
/// and Flushes. A named Parse or a Close would change what the client's statements are, so it ends the retry, as
/// does any answered batch that did more than begin a transaction. The bytes are only kept (references, no copy)
/// until a refusal or an answer asks what they hold: most units never do.
public struct WriteRetry: Sendable {
    /// BEGIN texts answered on this link, in order (slices of the client's bytes).
    public private(set) var prologueTexts: [ByteBuffer] = []
    /// The client's bytes since the last answer.
    public private(set) var batch: [ByteBuffer]
    private var bytes = 0
    /// Past `maxBytes` (a large pipelined batch), the bytes are let go: such a batch is not sent twice.
    private var overflowed = false
    /// The handler's count of the link's ReadyForQuery messages at the last delivery.
    public var answered = 0
    /// Taken back once already: the unit's next lease runs the prologue first, and is not taken back again.
    public var rerouted = false

    public static let maxBytes = 1 << 20

    public init(first: [ByteBuffer]) {
        batch = first
        for b in first { bytes += b.readableBytes }
        if bytes > Self.maxBytes { overflow() }
    }

    /// More of the client's bytes went to the server.
    public mutating func sent(_ buffer: ByteBuffer) {
        guard !overflowed else { return }
        bytes += buffer.readableBytes
        if bytes > Self.maxBytes { return overflow() }
        batch.append(buffer)
    }

    private mutating func overflow() {
        overflowed = true
        batch = []
    }

    /// The BEGIN statements as text, for the new server.
    public var prologue: [String] { prologueTexts.map { String(buffer: $0) } }

    /// The batch can go to another server as it is: complete, between frames, one request of replayable frames.
    public var replayable: Bool {
        guard !overflowed else { return false }
        let a = Self.analyze(batch)
        return a.fits && a.requests == 1
    }

    /// Bytes of the server's answer reached the client, with `ready` ReadyForQuery messages, the last carrying
    /// `status`. True while the retry still holds: the batch only began a transaction, which the next batch's retry
    /// runs again first. Anything else (a partial answer, a statement that ran) ends it.
    public mutating func delivered(ready: Int, status: TransactionStatus) -> Bool {
        guard !overflowed, ready == 1, status == .inTransaction else { return false }
        let a = Self.analyze(batch)
        guard a.fits, a.requests == 1, let text = a.begins else { return false }
        prologueTexts.append(text)
        batch.removeAll()
        bytes = 0
        return true
    }

    struct Analysis {
        /// Whole frames only, each of a kind that may be sent twice.
        var fits = true
        /// Requests (Query, Sync).
        var requests = 0
        /// The batch is one Query that only begins a transaction: its text.
        var begins: ByteBuffer?
    }

    private static let rules = FrameRules(intercept: FrameTypeSet(), observe: FrameTypeSet([FrontendMessage.Code.query, FrontendMessage.Code.parse]),
                                          count: FrameTypeSet((0...255).map(UInt8.init).filter { $0 != FrontendMessage.Code.query && $0 != FrontendMessage.Code.parse }),
                                          maxFrameLength: Int(Int32.max))
    private static let replayableTypes = FrameTypeSet([FrontendMessage.Code.bind, FrontendMessage.Code.describe, FrontendMessage.Code.execute,
                                                       FrontendMessage.Code.sync, FrontendMessage.Code.flush])

    static func analyze(_ batch: [ByteBuffer]) -> Analysis {
        var a = Analysis()
        // One simple Query read whole, the usual batch: its text, without the frame scan.
        if let text = ClientSession.singleQueryText(batch) {
            a.requests = 1
            if mayBegin(text), onlyBegins(String(buffer: text)) { a.begins = text }
            return a
        }
        var scan = FrameSplitter(rules: rules)
        var last: ByteBuffer?
        for b in batch {
            do {
                try scan.feed(b) { event in
                    switch event {
                    case .observed(let type, var body):
                        a.requests += type == FrontendMessage.Code.query ? 1 : 0
                        last = nil
                        if type == FrontendMessage.Code.parse {
                            // Only the unnamed statement, which the next Parse replaces anyway.
                            if body.readNullTerminatedString() != "" { a.fits = false }
                        } else if let end = body.readableBytesView.firstIndex(of: 0) {
                            last = body.getSlice(at: body.readerIndex, length: end - body.readerIndex)
                        }
                    case .counted(let type):
                        if !replayableTypes.contains(type) { a.fits = false }
                        if type == FrontendMessage.Code.sync { a.requests += 1 }
                        last = nil
                    case .bytes, .intercepted, .cut:
                        break
                    }
                }
            } catch {
                a.fits = false
            }
        }
        if !scan.atFrameBoundary { a.fits = false }
        if a.requests == 1, let text = last, mayBegin(text), onlyBegins(String(buffer: text)) { a.begins = text }
        return a
    }

    /// Whether the text's first byte after white space can start BEGIN, START or a comment: every statement of a
    /// transaction is asked, and most are told no without a String made.
    static func mayBegin(_ text: ByteBuffer) -> Bool {
        for b in text.readableBytesView where !(b == 0x20 || (b >= 0x09 && b <= 0x0D)) {
            return b | 0x20 == UInt8(ascii: "b") || b | 0x20 == UInt8(ascii: "s") || b == UInt8(ascii: "/")
        }
        return false
    }

    /// BEGIN or START TRANSACTION with its options and nothing after it (a trailing semicolon at most).
    static func onlyBegins(_ text: String) -> Bool {
        var rest = Substring(text)
        while true {
            rest = rest.drop(while: { $0.isWhitespace })
            guard rest.hasPrefix("/*"), let end = rest.firstRange(of: "*/") else { break }
            rest = rest[end.upperBound...]
        }
        let upper = String(rest.prefix(17)).uppercased()
        let keyword = upper.hasPrefix("BEGIN") ? 5 : upper.hasPrefix("START TRANSACTION") ? 17 : 0
        // BEGIN, not BEGINNING: the keyword ends where a letter does not follow.
        guard keyword > 0, rest.dropFirst(keyword).first.map({ !$0.isLetter && $0 != "_" }) ?? true else { return false }
        let body = rest.reversed().drop(while: { $0.isWhitespace })
        let semicolons = body.filter { $0 == ";" }.count
        return semicolons == 0 || (semicolons == 1 && body.first == ";")
    }
}
