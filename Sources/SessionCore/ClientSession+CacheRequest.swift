// The held bytes as one request the result cache may answer: a simple Query, or Parse/Bind/Describe/Execute/Sync of
// one statement, with everything that names its answer.
import NIOCore
import PGWire

/// One request as the result cache sees it.
public struct CacheRequest: Sendable, Equatable {
    /// The statement's text (without its NUL): what is profiled.
    public var text: ByteBuffer
    /// The shared id of the prepared statement it binds, when the client prepared it on an earlier link.
    public var id: Int?
    /// Everything of the request that changes its answer's bytes, as sent: the protocol and the messages asked
    /// (ParseComplete, RowDescription), the statement (text and parameter types, or id), parameters and their formats,
    /// result formats. Two requests with the same identity (and settings, tables...) get the same bytes back.
    public var identity: [UInt8]
}

extension ClientSession {
    /// The held bytes when they are exactly one request the cache may answer, else nil: a simple Query; or an
    /// optional unnamed Parse, a Bind of that statement (or of one the client prepared earlier) to the unnamed portal,
    /// an optional Describe of that portal, an Execute (with or without a row limit) and a Sync. Named Parses, Close, Flush and
    /// several requests go to a server (they change what the server holds, or ask for answers in pieces).
    public func cacheRequest() -> CacheRequest? {
        guard phase == .waiting, atFrameBoundary else { return nil }
        var input: ByteBuffer
        if held.count == 1 {
            input = held[0]
        } else {
            input = ByteBuffer()
            for var b in held { input.writeBuffer(&b) }
        }
        // A Query read in one piece or several.
        if let text = Self.singleQueryText([input]) {
            var identity: [UInt8] = [UInt8(ascii: "Q")]
            identity.append(contentsOf: text.readableBytesView)
            return CacheRequest(text: text, id: nil, identity: identity)
        }
        var identity: [UInt8] = [UInt8(ascii: "X")]
        var text: ByteBuffer?, id: Int?, parsed = false, bound = false, described = false, executed = false
        while input.readableBytes > 0 {
            guard let (type, body) = try? WholeFrameReader.next(&input, maxLength: Int(Int32.max)) else { return nil }
            var b = body
            switch type {
            case FrontendMessage.Code.parse:
                // Only first, unnamed: a named one becomes the client's, which an answer from here would not make.
                guard !parsed, !bound, b.readNullTerminatedString() == "", let t = Self.cText(b) else { return nil }
                parsed = true
                text = t
                identity.append(UInt8(ascii: "P"))
                Self.field(b.readableBytesView, into: &identity)
            case FrontendMessage.Code.bind:
                guard !bound, b.readNullTerminatedString() == "", let name = b.readNullTerminatedString() else { return nil }
                if parsed {
                    guard name.isEmpty else { return nil }
                } else {
                    guard !name.isEmpty, carriesStatements, let statement = rewriter.statements[name] else { return nil }
                    let tail = statement.parseTail
                    guard let t = Self.cText(tail) else { return nil }
                    text = t
                    id = statement.id
                    identity.append(UInt8(ascii: "#"))
                    Self.field(tail.readableBytesView, into: &identity)
                }
                bound = true
                identity.append(UInt8(ascii: "B"))
                Self.field(b.readableBytesView, into: &identity)
            case FrontendMessage.Code.describe:
                guard bound, !described, !executed, b.readInteger(as: UInt8.self) == UInt8(ascii: "P"), b.readNullTerminatedString() == "" else { return nil }
                described = true
                identity.append(UInt8(ascii: "D"))
            case FrontendMessage.Code.execute:
                guard bound, !executed, b.readNullTerminatedString() == "", let limit = b.readInteger(as: Int32.self) else { return nil }
                executed = true
                // A row limit (asyncpg's fetchrow and fetchval ask for one row) is part of the request: an answer that
                // stopped at it (PortalSuspended) is never kept, one that ended within it is whole for that limit.
                identity.append(UInt8(ascii: "E"))
                withUnsafeBytes(of: limit.bigEndian) { identity.append(contentsOf: $0) }
            case FrontendMessage.Code.sync:
                guard executed, input.readableBytes == 0, let text else { return nil }
                return CacheRequest(text: text, id: id, identity: identity)
            default:
                return nil
            }
        }
        return nil
    }

    /// The text up to its NUL.
    private static func cText(_ b: ByteBuffer) -> ByteBuffer? {
        guard let end = b.readableBytesView.firstIndex(of: 0) else { return nil }
        return b.getSlice(at: b.readerIndex, length: end - b.readerIndex)
    }

    /// Length first, so that one field's end is never read as the next's start.
    private static func field(_ bytes: ByteBufferView, into out: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: bytes.count).bigEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: bytes)
    }
}

extension ClientSession {
    /// The held request (its first `bytes` held bytes) was answered from the cache. `more`: the client sent more
    /// meanwhile (while another client's identical miss or Redis was awaited), which still waits for a server;
    /// otherwise it is between transactions again. `resume`: reading had been stopped for what was held.
    public mutating func answeredFromCache(bytes: Int, now: NIODeadline) -> (resume: Bool, more: Bool) {
        precondition(phase == .waiting, "a cached answer for a client that is not waiting")
        clock.lastDelivered = now
        let (_, resume) = takeHeld(upTo: bytes)
        if heldBytes > 0 { return (resume, true) }
        phase = .unlinked
        return (resume, false)
    }
}
