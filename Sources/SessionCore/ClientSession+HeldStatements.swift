// The SQL a client sent while it had no server: what routing reads to choose the node the whole held batch goes to.
import NIOCore
import PGWire

/// The statement texts of the held frames, in order, and whether they end at a request (Query, Sync,
/// FunctionCall or Flush) between frames: before that, a text may be cut off or more of the batch may follow.
public struct HeldStatements: Sendable, Equatable {
    /// Query texts, Parse texts, and the texts of named statements bound without a Parse in the batch.
    public var texts: [String] = []
    public var complete = false

    public init(texts: [String] = [], complete: Bool = false) {
        self.texts = texts
        self.complete = complete
    }
}

extension ClientSession {
    private static let statementFrames = FrameTypeSet([FrontendMessage.Code.query, FrontendMessage.Code.parse, FrontendMessage.Code.bind])

    /// Every statement the held bytes would run or prepare: the node they go to must be able to run them all.
    public func heldStatements() -> HeldStatements {
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
                        if let text = body.readNullTerminatedString() { out.texts.append(text) }
                    case FrontendMessage.Code.parse:
                        guard let name = body.readNullTerminatedString(), let text = body.readNullTerminatedString() else { return }
                        parsedHere.insert(name)
                        out.texts.append(text)
                    default:
                        // A Bind of a statement prepared on an earlier link: its text is the one the client prepared.
                        guard body.readNullTerminatedString() != nil, let name = body.readNullTerminatedString(),
                              !name.isEmpty, !parsedHere.contains(name), var tail = rewriter.statements[name]?.parseTail,
                              let text = tail.readNullTerminatedString() else { return }
                        out.texts.append(text)
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
}
