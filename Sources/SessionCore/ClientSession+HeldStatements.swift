// The SQL a client sent while it had no server: what routing reads to choose the node the whole held batch goes to.
import NIOCore
import PGWire

/// The statement texts of the held frames, in order, and whether they end at a request (Query, Sync,
/// FunctionCall or Flush) between frames: before that, a text may be cut off or more of the batch may follow.
public struct HeldStatements: Sendable, Equatable {
    /// Query texts, Parse texts, and the texts of named statements bound without a Parse in the batch: slices of
    /// the held bytes (no copy), without their NUL.
    public var texts: [ByteBuffer] = []
    public var complete = false
    /// The held bytes are one simple Query, whole: the next Query frame the link relays is `texts[0]`.
    public var oneQuery = false
    /// For each text, the shared id of the prepared statement it is when the batch binds one the client prepared on
    /// an earlier link (its profile is then kept by that id, with no scan of the text); empty for one simple Query.
    public var ids: [Int?] = []

    public init() {}
}

extension ClientSession {
    private static let statementFrames = FrameTypeSet([FrontendMessage.Code.query, FrontendMessage.Code.parse, FrontendMessage.Code.bind])

    /// Every statement the held bytes would run or prepare: the node they go to must be able to run them all.
    public func heldStatements() -> HeldStatements {
        // One simple Query read whole (the usual unit of work): its text, without the frame scan.
        if let text = Self.singleQueryText(held) {
            var out = HeldStatements()
            out.texts = [text]
            out.complete = true
            out.oneQuery = true
            return out
        }
        var scan = FrameSplitter(intercept: FrameTypeSet(), observe: Self.statementFrames, count: Self.requestFrames, maxFrameLength: Int(Int32.max))
        var out = HeldStatements()
        var parsedHere: Set<String> = []
        var endsWithRequest = false
        for b in held {
            try? scan.feed(b) { event in
                switch event {
                case .observed(let type, var body):
                    endsWithRequest = type == FrontendMessage.Code.query
                    switch type {
                    case FrontendMessage.Code.query:
                        if let text = Self.cString(&body) {
                            out.texts.append(text)
                            out.ids.append(nil)
                        }
                    case FrontendMessage.Code.parse:
                        guard let name = body.readNullTerminatedString(), let text = Self.cString(&body) else { return }
                        parsedHere.insert(name)
                        out.texts.append(text)
                        out.ids.append(nil)
                    default:
                        // A Bind of a statement prepared on an earlier link: its text is the one the client prepared.
                        guard body.readNullTerminatedString() != nil, let name = body.readNullTerminatedString(),
                              !name.isEmpty, !parsedHere.contains(name), let statement = rewriter.statements[name] else { return }
                        var tail = statement.parseTail
                        guard let text = Self.cString(&tail) else { return }
                        out.texts.append(text)
                        out.ids.append(statement.id)
                    }
                case .counted(let type):
                    // A Flush asks for answers too: a client that sent one waits for them before it says more.
                    endsWithRequest = Self.requestEnds.contains(type) || type == FrontendMessage.Code.flush
                case .bytes, .intercepted, .cut:
                    break
                }
            }
        }
        out.complete = scan.atFrameBoundary && endsWithRequest
        return out
    }

    /// The text of `buffers` when they are one buffer holding exactly one whole simple Query (without its NUL).
    static func singleQueryText(_ buffers: [ByteBuffer]) -> ByteBuffer? {
        guard buffers.count == 1, var q = Optional(buffers[0]), q.readableBytes > 6, q.readInteger(as: UInt8.self) == FrontendMessage.Code.query,
              let length = q.readInteger(as: Int32.self), Int(length) == q.readableBytes + 4,
              q.getInteger(at: q.writerIndex - 1, as: UInt8.self) == 0 else { return nil }
        return q.getSlice(at: q.readerIndex, length: q.readableBytes - 1)
    }

    private static func cString(_ b: inout ByteBuffer) -> ByteBuffer? {
        guard let end = b.readableBytesView.firstIndex(of: 0) else { return nil }
        defer { b.moveReaderIndex(forwardBy: 1) }
        return b.readSlice(length: end - b.readerIndex)
    }
}
