// Between transactions, a named Parse of a statement PostgreSQL already accepted is answered without a server.
import NIOCore
import PGWire
import SQLAnalysis

extension ClientSession {
    /// A client with no server that sends only named Parses of texts PostgreSQL already accepted (same parameter
    /// types, no schema change since), each batch ended by Sync, as libpq's PQprepare does: the statements become the
    /// client's and the answer (ParseComplete per Parse, ReadyForQuery per Sync) is returned; the first Bind on a
    /// server that lacks one prepares it there. nil, with nothing changed, for anything else: it needs a server.
    /// A blocking PQprepare then never waits for a server another client of the same thread holds (pgbench -M
    /// prepared with more clients than threads over a small pool would otherwise hang).
    /// `searchPath`: the client's own search_path ("" when it has none), which the acceptance must have had; looked up
    /// only for a Parse that could be answered (a dictionary look-up per transaction otherwise).
    public mutating func answerLocally<Catalog: StatementInterning>(_ buffer: ByteBuffer, searchPath: @autoclosure () -> String,
                                                                 catalog: Catalog) -> ByteBuffer? {
        // Asked of the first bytes of every transaction: anything that does not start with a Parse goes at once.
        guard buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == FrontendMessage.Code.parse, carriesStatements,
              held.isEmpty, atFrameBoundary else { return nil }
        var input = buffer
        var adopted: [(name: String, tail: ByteBuffer, id: Int)] = []
        var reply = ByteBufferAllocator().buffer(capacity: 16)
        var endsWithSync = false
        while input.readableBytes > 0 {
            guard let (type, body) = try? WholeFrameReader.next(&input, maxLength: 1 << 20) else { return nil }
            switch type {
            case FrontendMessage.Code.parse:
                var rest = body
                guard let name = rest.readNullTerminatedString(), !name.isEmpty, rewriter.statements[name] == nil,
                      !adopted.contains(where: { $0.name == name }), let id = catalog.acceptedID(for: rest, searchPath: searchPath()) else { return nil }
                // SQL that may change the session or the schema is noticed on its way to a server: not answered here.
                let quiet = rest.withUnsafeReadableBytes { raw -> Bool in
                    let text = UnsafeRawBufferPointer(rebasing: raw[..<(raw.firstIndex(of: 0) ?? raw.count)])
                    let (effect, changesSchema) = SessionStateScan.classify(text)
                    return effect == nil && !changesSchema
                }
                guard quiet else { return nil }
                adopted.append((name, rest, id))
                BackendMessage.parseComplete.encode(into: &reply)
                endsWithSync = false
            case FrontendMessage.Code.sync:
                BackendMessage.readyForQuery(.idle).encode(into: &reply)
                endsWithSync = true
            default:
                return nil
            }
        }
        guard endsWithSync, !adopted.isEmpty else { return nil }
        for a in adopted { rewriter.adopt(name: a.name, parseTail: a.tail, id: a.id) }
        return reply
    }
}
