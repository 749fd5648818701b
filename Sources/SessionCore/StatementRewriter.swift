// A client's named prepared statements, carried from server to server: its Parse, Bind, Describe and Close rewritten to shared names.
import NIOCore
import PGWire

/// One statement as the client named it: the shared statement it maps to, and how to prepare that anywhere.
public struct ClientStatement: Sendable, Equatable {
    public let id: Int
    /// The Parse body after the name: query text, NUL, parameter type count and OIDs.
    public let parseTail: ByteBuffer
    /// What the client was told when it described the statement: a driver that caches it (asyncpg, pgjdbc) decodes
    /// rows by it without describing again. nil while it never described it.
    public internal(set) var shape: StatementShape?
}

/// Pure: fed every extended-protocol and Query frame a client sends, it says whether each passes unchanged or is
/// replaced by the frames it appends to `out`, and records the replies the server will owe in `replies`.
/// The server's cache is borrowed for the length of a link.
/// What the rewriter made of a client's frame: the splitter's verdict on it, or, for a Bind of a statement whose
/// columns on the linked server are unknown, a wait for the Describe it sent (the Bind is then held, not forwarded).
public enum Rewritten: Equatable, Sendable {
    case pass, drop, cutAfter
    case waits(statement: Int)

    init(_ verdict: FrameVerdict) {
        switch verdict {
        case .pass: self = .pass
        case .drop: self = .drop
        case .cutAfter: self = .cutAfter
        }
    }

    /// As the splitter takes it: a waiting Bind is not forwarded.
    public var verdict: FrameVerdict {
        switch self {
        case .pass: .pass
        case .drop, .waits: .drop
        case .cutAfter: .cutAfter
        }
    }
}

public struct StatementRewriter: Sendable {
    public internal(set) var statements: [String: ClientStatement] = [:]
    /// For each made-up reply and injected Close not yet known to have run, in the order sent: the client name a
    /// made-up reply changed (and what it held before), or the statement an injected Close took off the server.
    private enum Pending {
        case name(String, previous: ClientStatement?)
        case closed(Int)
    }
    private var madeUp: [Pending] = []
    /// Client names whose Parse went to the server and has not been answered yet, by statement: if it fails, these go.
    private var forwardedNames: [Int: [String]] = [:]
    /// The client's Describes of its statements not answered yet, by token (the answer names the token, not the name).
    /// Each is answered or reported failed, with or after the delivery that settles the replies (so not forgotten
    /// then); a link that ends early leaves some, forgotten at the next link.
    var describing: [Int: String] = [:]
    var nextToken = 0
    /// For SHOW STATS: named Parses from the client, Parses sent to servers, Binds of named statements.
    public private(set) var clientParses = 0
    public private(set) var serverParses = 0
    public private(set) var binds = 0
    /// Shared: an allocator is four function pointers, which every idle client would otherwise carry.
    private static let allocator = ByteBufferAllocator()

    public init() {}

    /// The frame types to feed in (the others pass untouched).
    public static let types: [UInt8] = [
        FrontendMessage.Code.parse, FrontendMessage.Code.bind, FrontendMessage.Code.describe, FrontendMessage.Code.close,
        FrontendMessage.Code.query, FrontendMessage.Code.execute, FrontendMessage.Code.sync, FrontendMessage.Code.flush,
        FrontendMessage.Code.functionCall, FrontendMessage.Code.copyDone, FrontendMessage.Code.copyFail,
    ]

    /// `retired`: whether a server reported that a shared statement's result columns changed ("cached plan must not
    /// change result type"); its clients then hear that where it would have to be prepared anew. `checkShapes`: a Bind
    /// of a statement the client described is checked against the server's (see StatementRewriter+Shapes), which may
    /// make it wait (`takeBindWait`), or fail it and report the statement to `changed`.
    public mutating func rewrite(
        type: UInt8, body: ByteBuffer, server: inout ServerStatementCache, intern: (ByteBuffer) -> Int,
        retired: (Int) -> Bool = { _ in false }, checkShapes: Bool = true, changed: (Int) -> Void = { _ in },
        out: inout [ByteBuffer], replies: inout [PendingReply]
    ) throws -> Rewritten {
        var body = body
        switch type {
        case FrontendMessage.Code.sync:
            replies.append(.sync)
            return .pass
        case FrontendMessage.Code.execute:
            replies.append(.execute)
            return .pass
        case FrontendMessage.Code.functionCall:
            replies.append(.query)
            return .pass
        case FrontendMessage.Code.copyDone, FrontendMessage.Code.copyFail:
            replies.append(.copyEnd)
            return .pass
        case FrontendMessage.Code.parse:
            let name = try body.readCString("Parse")
            guard !name.isEmpty else {
                return Rewritten(unnamedParse(body, server: &server, out: &out, replies: &replies))
            }
            guard statements[name] == nil else {
                return Rewritten(raise(SQLState.duplicatePreparedStatement, "prepared statement \"\(name)\" already exists", out: &out, replies: &replies))
            }
            // A copy, so that a remembered statement does not pin the whole read buffer it arrived in.
            let tail = Self.allocator.buffer(buffer: body)
            let id = intern(tail)
            statements[name] = ClientStatement(id: id, parseTail: tail)
            clientParses += 1
            if server.use(id) {
                madeUp.append(.name(name, previous: nil))
                replies.append(.synthetic(.parseComplete))
            } else {
                forwardedNames[id, default: []].append(name)
                prepare(id, tail, on: &server, injected: false, out: &out, replies: &replies)
            }
            return .drop
        case FrontendMessage.Code.bind:
            let portal = try body.readCString("Bind")
            let name = try body.readCString("Bind")
            guard !name.isEmpty else {
                replies.append(.bind)
                return .pass
            }
            // Unknown names never reach the server as they are: there they could name another client's statement.
            guard let s = statements[name] else { return Rewritten(unknown(name, out: &out, replies: &replies)) }
            // A Describe of the statement the client sent and has not had answered tells it the columns before the rows.
            if checkShapes, let seen = s.shape, describing.isEmpty || !describing.values.contains(name) {
                switch bindable(s, seen: seen, on: &server, retired: retired, changed: changed, out: &out, replies: &replies) {
                case .now: binds += 1
                case .failed:
                    binds += 1
                    return .drop
                case .afterDescribe: return .waits(statement: s.id)
                }
            } else {
                binds += 1
                guard ensurePrepared(s, on: &server, retired: retired, out: &out, replies: &replies) else { return .drop }
            }
            var frame = Self.allocator.buffer(capacity: 5 + portal.utf8.count + 24 + body.readableBytes)
            frame.writeInteger(FrontendMessage.Code.bind)
            let start = frame.writerIndex
            frame.writeInteger(Int32(0))
            frame.writeNullTerminatedString(portal)
            frame.writeNullTerminatedString(server.name(of: s.id))
            frame.writeImmutableBuffer(body)
            frame.setInteger(Int32(frame.writerIndex - start), at: start)
            out.append(frame)
            replies.append(.namedBind(statement: s.id))
            return .drop
        case FrontendMessage.Code.describe:
            let kind = try body.readUInt8("Describe")
            let name = try body.readCString("Describe")
            guard kind == FrontendMessage.TargetKind.statement.rawValue, !name.isEmpty else {
                replies.append(.describe)
                return .pass
            }
            guard let s = statements[name] else { return Rewritten(unknown(name, out: &out, replies: &replies)) }
            guard ensurePrepared(s, on: &server, retired: retired, out: &out, replies: &replies) else { return .drop }
            out.append(encode(.describe(.statement, name: server.name(of: s.id))))
            // The answer is what the client will decode this statement's rows by: remembered under its name.
            nextToken &+= 1
            describing[nextToken] = name
            replies.append(.describeStatement(statement: s.id, token: nextToken))
            return .drop
        case FrontendMessage.Code.close:
            let kind = try body.readUInt8("Close")
            let name = try body.readCString("Close")
            guard kind == FrontendMessage.TargetKind.statement.rawValue, !name.isEmpty else {
                replies.append(.close(injected: false))
                return .pass
            }
            // The server's copy stays for other clients (and this one, should it prepare the text again).
            madeUp.append(.name(name, previous: statements.removeValue(forKey: name)))
            replies.append(.synthetic(.closeComplete))
            return .drop
        case FrontendMessage.Code.query:
            return Rewritten(query(body, server: &server, out: &out, replies: &replies))
        default:
            return .pass
        }
    }

    /// A named Parse pgswift answered itself (the text is known to be accepted): the client has the statement, and
    /// the first Bind on a server that lacks it prepares it there.
    public mutating func adopt(name: String, parseTail: ByteBuffer, id: Int) {
        statements[name] = ClientStatement(id: id, parseTail: Self.allocator.buffer(buffer: parseTail))
        clientParses += 1
    }

    /// Forgets what the server did not prepare after all: only the names whose own Parse failed.
    public mutating func parseFailed(_ failure: FailedParse, server: inout ServerStatementCache) {
        server.remove(failure.statement)
        guard !failure.injected, let names = forwardedNames.removeValue(forKey: failure.statement) else { return }
        for name in names where statements[name]?.id == failure.statement { statements[name] = nil }
    }

    /// The outcomes of made-up replies and injected Closes, oldest first: a skipped one (false) never happened, so
    /// its change is undone (a statement whose Close was skipped is still on the server, to be closed before reuse).
    public mutating func madeUpRepliesResolved(_ outcomes: [Bool], server: inout ServerStatementCache) {
        for went in outcomes {
            guard !madeUp.isEmpty else { return }
            switch madeUp.removeFirst() {
            case .name(let name, let previous):
                if !went { statements[name] = previous }
            case .closed(let id):
                if !went { server.markStale(id) }
            }
        }
    }

    /// Every message sent so far has been answered: the Parses that went to the server succeeded.
    public mutating func repliesSettled() {
        if !forwardedNames.isEmpty { forwardedNames.removeAll(keepingCapacity: true) }
        // Their outcomes came with the same delivery; anything left has no reply coming (a link that ended early).
        if !madeUp.isEmpty { madeUp.removeAll(keepingCapacity: true) }
    }

    /// An unnamed Parse passes, but a DEALLOCATE or DISCARD ALL sent this way must still be honoured.
    private mutating func unnamedParse(_ tail: ByteBuffer, server: inout ServerStatementCache, out: inout [ByteBuffer], replies: inout [PendingReply]) -> FrameVerdict {
        switch StatementCommand.classify(tail) {
        case .other:
            break
        case .deallocateAll, .discardAll:
            forgetAll(server: &server)
        case .deallocate(let name):
            guard statements.removeValue(forKey: name) != nil else { break }
            // The shared statement stays on the server (as for Close). The DEALLOCATE itself must still run there, to
            // answer (or fail, in an aborted transaction) as PostgreSQL would: it drops a throwaway statement instead.
            let stand = "pgswift_dealloc_\(UInt32.random(in: 0...UInt32.max))"
            out.append(encode(.parse(name: stand, query: "SELECT 1", parameterTypes: [])))
            replies.append(.parse(statement: nil, injected: true))
            var types = tail
            _ = types.readNullTerminatedString()
            var query = Self.allocator.buffer(capacity: 48 + types.readableBytes)
            query.writeNullTerminatedString("DEALLOCATE \(stand)")
            query.writeImmutableBuffer(types)
            out.append(parseFrame(name: "", tail: query))
            replies.append(.parse(statement: nil, injected: false))
            return .drop
        }
        replies.append(.parse(statement: nil, injected: false))
        return .pass
    }

    /// DEALLOCATE ALL or DISCARD ALL: every name goes, and the server's statements may have (new names from now on).
    private mutating func forgetAll(server: inout ServerStatementCache) {
        statements.removeAll()
        server.removeAll()
    }

    private mutating func unknown(_ name: String, out: inout [ByteBuffer], replies: inout [PendingReply]) -> FrameVerdict {
        raise(SQLState.invalidSQLStatementName, "prepared statement \"\(name)\" does not exist", out: &out, replies: &replies)
    }

    /// Has the server raise the error PostgreSQL would have raised, so that it also fails the implicit transaction,
    /// sets the transaction status and skips to Sync exactly as PostgreSQL does. Its Parse and Bind replies are
    /// hidden; the error is the Execute's. The unnamed statement and portal are used: nothing of pgswift's stays on
    /// the server, and the error ends the portal anyway.
    func raise(_ sqlState: String, _ message: String, out: inout [ByteBuffer], replies: inout [PendingReply]) -> FrameVerdict {
        out.append(encode(.parse(name: "", query: RaisedError.sql(sqlState: sqlState, message: message), parameterTypes: [])))
        out.append(encode(.bind(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])))
        out.append(encode(.execute(portal: "", maxRows: 0)))
        replies.append(.parse(statement: nil, injected: true))
        replies.append(.injectedBind)
        replies.append(.raise)
        return .drop
    }

    private mutating func query(_ body: ByteBuffer, server: inout ServerStatementCache, out: inout [ByteBuffer], replies: inout [PendingReply]) -> FrameVerdict {
        switch StatementCommand.classify(body) {
        case .other:
            break
        case .deallocateAll, .discardAll:
            forgetAll(server: &server)
        case .deallocate(let name):
            guard let previous = statements.removeValue(forKey: name) else { break }
            // The shared statement stays on the server, as for Close; the answer is made up where the server would
            // have given it (an aborted transaction gets its error there).
            madeUp.append(.name(name, previous: previous))
            replies.append(.synthetic(.deallocated))
            return .drop
        }
        replies.append(.query)
        return .pass
    }

    /// Prepares the statement on the server if it lacks it. Returns false when it cannot be: its result columns changed
    /// since the client prepared it (a server said so), so a fresh Parse would hand the client rows of another shape;
    /// it hears what PostgreSQL says of such a statement instead, raised by the server (in place of the message).
    mutating func ensurePrepared(_ s: ClientStatement, on server: inout ServerStatementCache, retired: (Int) -> Bool,
                                         out: inout [ByteBuffer], replies: inout [PendingReply]) -> Bool {
        guard !server.use(s.id) else { return true }
        if retired(s.id) {
            _ = raise(SQLState.featureNotSupported, RaisedError.stalePlan, out: &out, replies: &replies)
            return false
        }
        prepare(s.id, s.parseTail, on: &server, injected: true, out: &out, replies: &replies)
        return true
    }

    /// After a stale-plan failure, for a batch that describes what it runs: the client's statements whose shared
    /// statement was retired map to the text's current one, prepared afresh where it runs.
    /// The batch describes its portal, so what the client knew of the columns no longer counts.
    public mutating func renew(retired: (Int) -> Bool, intern: (ByteBuffer) -> Int) {
        for (name, s) in statements where retired(s.id) {
            statements[name] = ClientStatement(id: intern(s.parseTail), parseTail: s.parseTail)
        }
    }

    mutating func prepare(_ id: Int, _ tail: ByteBuffer, on server: inout ServerStatementCache, injected: Bool, out: inout [ByteBuffer], replies: inout [PendingReply]) {
        serverParses += 1
        if server.isStale(id) {
            // Its Close was skipped after an error: the server still has it under this name.
            out.append(encode(.close(.statement, name: server.name(of: id))))
            replies.append(.close(injected: true))
            madeUp.append(.closed(id))
        }
        if let evicted = server.insert(id) {
            out.append(encode(.close(.statement, name: server.name(of: evicted))))
            replies.append(.close(injected: true))
            madeUp.append(.closed(evicted))
        }
        out.append(parseFrame(name: server.name(of: id), tail: tail))
        replies.append(.parse(statement: id, injected: injected))
    }

    /// A Parse frame from a name and a ready body tail (query, NUL, parameter types), without decoding the tail.
    private func parseFrame(name: String, tail: ByteBuffer) -> ByteBuffer {
        var frame = Self.allocator.buffer(capacity: 6 + name.utf8.count + tail.readableBytes)
        frame.writeInteger(FrontendMessage.Code.parse)
        frame.writeInteger(Int32(4 + name.utf8.count + 1 + tail.readableBytes))
        frame.writeNullTerminatedString(name)
        frame.writeImmutableBuffer(tail)
        return frame
    }

    func encode(_ message: FrontendMessage) -> ByteBuffer {
        var b = Self.allocator.buffer(capacity: 32)
        message.encode(into: &b)
        return b
    }
}

extension StatementRewriter {
    /// `rewrite` with the shared catalog's numbering, retirements and shape changes: how every path of a client calls it.
    mutating func rewrite<Catalog: StatementInterning>(_ type: UInt8, _ body: ByteBuffer, statements: inout ServerStatementCache, catalog: Catalog,
                                                       checkShapes: Bool = true, out: inout [ByteBuffer], replies: inout [PendingReply]) throws -> Rewritten {
        try rewrite(type: type, body: body, server: &statements, intern: catalog.id(for:), retired: catalog.isRetired, checkShapes: checkShapes,
                    changed: catalog.retire, out: &out, replies: &replies)
    }
}
