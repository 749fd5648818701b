// The statement texts a linked client sends, kept for the result cache, which must see every write to move the
// versions of the tables it touches.
import NIOCore
import PGWire

extension ClientSession {
    /// A Query's text, a Parse's, or the text of the named statement a Bind runs (an unnamed one's Parse was seen).
    mutating func noteForCache(_ type: UInt8, _ body: ByteBuffer) {
        var b = body
        switch type {
        case FrontendMessage.Code.query:
            break
        case FrontendMessage.Code.parse:
            guard b.readNullTerminatedString() != nil else { return }
        case FrontendMessage.Code.bind:
            guard b.readNullTerminatedString() != nil, let name = b.readNullTerminatedString(), !name.isEmpty,
                  let statement = rewriter.statements[name] else { return }
            b = statement.parseTail
        default:
            return
        }
        guard let end = b.readableBytesView.firstIndex(of: 0), let text = b.getSlice(at: b.readerIndex, length: end - b.readerIndex) else { return }
        link.seen.append(text)
    }

    /// Hands each text sent since the last call to `body`, then forgets them, keeping the list's storage (no copy).
    public mutating func drainSeen(_ body: (ByteBuffer) -> Void) {
        guard link.isAllocated, !link.seen.isEmpty else { return }
        for t in link.seen { body(t) }
        link.seen.removeAll(keepingCapacity: true)
    }
}
