// A unit of work sent to the primary, kept as the client sent it until its first real statement is answered: a node
// demoted since its last check refuses a write with 25006, and the unit then goes to the new primary instead.
import NIOCore
import PGWire

/// What a retry of a refused write replays: the BEGIN statements the link already answered (run again on the new
/// primary out of the client's sight) and the batch in flight, byte for byte. Only a batch that changes nothing but
/// the server's own state can be sent twice: plain queries, unnamed statements, Binds, Describes, Executes, Syncs
/// and Flushes. A named Parse or a Close would change what the client's statements are, so it ends the retry, as
/// does any answered batch that did more than begin a transaction.
public struct WriteRetry: Sendable {
    /// BEGIN texts answered on this link, in order.
    public private(set) var prologue: [String] = []
    /// The client's bytes since the last answer.
    public private(set) var batch: [ByteBuffer] = []
    private var scan = FrameSplitter(intercept: FrameTypeSet(), observe: Self.observed, count: Self.counted, maxFrameLength: Int(Int32.max))
    /// Every frame of `batch` is one a retry can send again.
    private var fits = true
    /// Requests (Query, Sync) in `batch`, and whether it is one Query that only begins a transaction.
    private var requests = 0
    private var begins: String?

    private static let observed = FrameTypeSet([FrontendMessage.Code.query, FrontendMessage.Code.parse])
    private static let counted = FrameTypeSet((0...255).map(UInt8.init).filter { !observed.contains($0) })
    private static let replayable = FrameTypeSet([FrontendMessage.Code.bind, FrontendMessage.Code.describe, FrontendMessage.Code.execute,
                                                  FrontendMessage.Code.sync, FrontendMessage.Code.flush])

    /// Nil when the first batch already holds something that cannot be sent twice.
    public init?(first: [ByteBuffer]) {
        for b in first { sent(b) }
        guard fits else { return nil }
    }

    /// More of the client's bytes went to the server.
    public mutating func sent(_ buffer: ByteBuffer) {
        guard fits else { return }
        batch.append(buffer)
        try? scan.feed(buffer) { event in
            switch event {
            case .observed(let type, var body):
                requests += type == FrontendMessage.Code.query ? 1 : 0
                if type == FrontendMessage.Code.parse {
                    // Only the unnamed statement, which the next Parse replaces anyway.
                    if body.readNullTerminatedString() != "" { fits = false }
                    begins = nil
                } else {
                    let text = body.readNullTerminatedString() ?? ""
                    begins = requests == 1 && Self.onlyBegins(text) ? text : nil
                }
            case .counted(let type):
                if !Self.replayable.contains(type) { fits = false }
                if type == FrontendMessage.Code.sync { requests += 1 }
                begins = nil
            case .bytes, .intercepted, .cut:
                break
            }
        }
    }

    /// The batch can go to another server as it is: complete, between frames, one request.
    public var replayable: Bool { fits && requests == 1 && scan.atFrameBoundary }

    /// Bytes of the server's answer reached the client, with `ready` ReadyForQuery messages, the last carrying
    /// `status`. True while the retry still holds: nothing of the batch was answered yet, or it only began a
    /// transaction, which the next batch's retry runs again first.
    public mutating func delivered(ready: Int, status: TransactionStatus) -> Bool {
        guard fits, ready == requests, scan.atFrameBoundary, status == .inTransaction, let text = begins else { return false }
        prologue.append(text)
        batch.removeAll()
        requests = 0
        begins = nil
        return true
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
