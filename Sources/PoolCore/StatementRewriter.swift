// A client's named prepared statements, carried from server to server: its Parse, Bind, Describe and Close rewritten to shared names.
import NIOCore
import PGWire

/// One statement as the client named it: the shared statement it maps to, and how to prepare that anywhere.
public struct ClientStatement: Sendable, Equatable {
    public let id: Int
    /// The Parse body after the name: query text, NUL, parameter type count and OIDs.
    public let parseTail: ByteBuffer
}

/// Pure: fed every extended-protocol and Query frame a client sends, it says whether each passes unchanged or is
/// replaced by the frames it appends to `out`, and records the replies the server will owe in `replies`.
/// The server's cache is borrowed for the length of a link.
public struct StatementRewriter: Sendable {
    public private(set) var statements: [String: ClientStatement] = [:]
    /// A made-up error was answered: like PostgreSQL, skip the client's messages until its Sync.
    public private(set) var discarding = false
    /// For SHOW STATS: named Parses from the client, Parses sent to servers, Binds of named statements.
    public private(set) var clientParses = 0
    public private(set) var serverParses = 0
    public private(set) var binds = 0
    private let allocator = ByteBufferAllocator()

    public init() {}

    /// The frame types to feed in (the others pass untouched).
    public static let types: [UInt8] = [
        FrontendMessage.Code.parse, FrontendMessage.Code.bind, FrontendMessage.Code.describe, FrontendMessage.Code.close,
        FrontendMessage.Code.query, FrontendMessage.Code.execute, FrontendMessage.Code.sync, FrontendMessage.Code.flush,
        FrontendMessage.Code.functionCall,
    ]

    public mutating func rewrite(
        type: UInt8, body: ByteBuffer, server: inout ServerStatementCache, intern: (ByteBuffer) -> Int,
        out: inout [ByteBuffer], replies: inout [PendingReply]
    ) throws -> FrameVerdict {
        if discarding {
            guard type == FrontendMessage.Code.sync else { return .drop }
            discarding = false
        }
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
        case FrontendMessage.Code.parse:
            let name = try body.readCString("Parse")
            guard !name.isEmpty else {
                return unnamedParse(body, server: &server, out: &out, replies: &replies)
            }
            guard statements[name] == nil else {
                return fail("42P05", "prepared statement \"\(name)\" already exists", replies: &replies)
            }
            // A copy, so that a remembered statement does not pin the whole read buffer it arrived in.
            let tail = allocator.buffer(buffer: body)
            let id = intern(tail)
            statements[name] = ClientStatement(id: id, parseTail: tail)
            clientParses += 1
            if server.use(id) {
                replies.append(.synthetic(.parseComplete))
            } else {
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
            guard let s = statements[name] else { return unknown(name, replies: &replies) }
            binds += 1
            ensurePrepared(s, on: &server, out: &out, replies: &replies)
            var frame = allocator.buffer(capacity: 5 + portal.utf8.count + 24 + body.readableBytes)
            frame.writeInteger(FrontendMessage.Code.bind)
            let start = frame.writerIndex
            frame.writeInteger(Int32(0))
            frame.writeNullTerminatedString(portal)
            frame.writeNullTerminatedString(server.name(of: s.id))
            frame.writeImmutableBuffer(body)
            frame.setInteger(Int32(frame.writerIndex - start), at: start)
            out.append(frame)
            replies.append(.bind)
            return .drop
        case FrontendMessage.Code.describe:
            let kind = try body.readUInt8("Describe")
            let name = try body.readCString("Describe")
            guard kind == FrontendMessage.TargetKind.statement.rawValue, !name.isEmpty else {
                replies.append(.describe)
                return .pass
            }
            guard let s = statements[name] else { return unknown(name, replies: &replies) }
            ensurePrepared(s, on: &server, out: &out, replies: &replies)
            out.append(encode(.describe(.statement, name: server.name(of: s.id))))
            replies.append(.describe)
            return .drop
        case FrontendMessage.Code.close:
            let kind = try body.readUInt8("Close")
            let name = try body.readCString("Close")
            guard kind == FrontendMessage.TargetKind.statement.rawValue, !name.isEmpty else {
                replies.append(.close(injected: false))
                return .pass
            }
            // The server's copy stays for other clients (and this one, should it prepare the text again).
            statements[name] = nil
            replies.append(.synthetic(.closeComplete))
            return .drop
        case FrontendMessage.Code.query:
            return query(body, server: &server, out: &out, replies: &replies)
        default:
            return .pass
        }
    }

    /// Forgets what the server did not prepare after all.
    public mutating func parseFailed(_ failure: FailedParse, server: inout ServerStatementCache) {
        server.remove(failure.statement)
        if !failure.injected {
            statements = statements.filter { $0.value.id != failure.statement }
        }
    }

    public mutating func removeAll() {
        statements.removeAll()
    }

    /// An unnamed Parse passes, but a DEALLOCATE or DISCARD ALL sent this way must still be honoured.
    private mutating func unnamedParse(_ tail: ByteBuffer, server: inout ServerStatementCache, out: inout [ByteBuffer], replies: inout [PendingReply]) -> FrameVerdict {
        switch StatementCommand.classify(tail) {
        case .other:
            break
        case .deallocateAll, .discardAll:
            statements.removeAll()
            server.removeAll()
        case .deallocate(let name):
            guard let s = statements.removeValue(forKey: name) else { break }
            // The statement must exist on this server for the DEALLOCATE to answer as PostgreSQL would.
            ensurePrepared(s, on: &server, out: &out, replies: &replies)
            server.remove(s.id)
            var rest = tail
            _ = rest.readNullTerminatedString()
            var frame = allocator.buffer(capacity: 64 + rest.readableBytes)
            frame.writeInteger(FrontendMessage.Code.parse)
            let start = frame.writerIndex
            frame.writeInteger(Int32(0))
            frame.writeInteger(UInt8(0))
            frame.writeNullTerminatedString("DEALLOCATE \(server.name(of: s.id))")
            frame.writeImmutableBuffer(rest)
            frame.setInteger(Int32(frame.writerIndex - start), at: start)
            out.append(frame)
            replies.append(.parse(statement: nil, injected: false))
            return .drop
        }
        replies.append(.parse(statement: nil, injected: false))
        return .pass
    }

    private mutating func unknown(_ name: String, replies: inout [PendingReply]) -> FrameVerdict {
        fail("26000", "prepared statement \"\(name)\" does not exist", replies: &replies)
    }

    private mutating func fail(_ sqlState: String, _ message: String, replies: inout [PendingReply]) -> FrameVerdict {
        replies.append(.synthetic(.error(sqlState: sqlState, message: message)))
        discarding = true
        return .drop
    }

    private mutating func query(_ body: ByteBuffer, server: inout ServerStatementCache, out: inout [ByteBuffer], replies: inout [PendingReply]) -> FrameVerdict {
        switch StatementCommand.classify(body) {
        case .other:
            break
        case .deallocateAll, .discardAll:
            statements.removeAll()
            server.removeAll()
        case .deallocate(let name):
            guard let s = statements.removeValue(forKey: name) else { break }
            if server.use(s.id) {
                server.remove(s.id)
                out.append(encode(.query("DEALLOCATE \(server.name(of: s.id))")))
                replies.append(.query)
            } else {
                replies.append(.synthetic(.deallocated))
            }
            return .drop
        }
        replies.append(.query)
        return .pass
    }

    private mutating func ensurePrepared(_ s: ClientStatement, on server: inout ServerStatementCache, out: inout [ByteBuffer], replies: inout [PendingReply]) {
        if !server.use(s.id) {
            prepare(s.id, s.parseTail, on: &server, injected: true, out: &out, replies: &replies)
        }
    }

    private mutating func prepare(_ id: Int, _ tail: ByteBuffer, on server: inout ServerStatementCache, injected: Bool, out: inout [ByteBuffer], replies: inout [PendingReply]) {
        serverParses += 1
        if let evicted = server.insert(id) {
            out.append(encode(.close(.statement, name: server.name(of: evicted))))
            replies.append(.close(injected: true))
        }
        let name = server.name(of: id)
        var frame = allocator.buffer(capacity: 6 + name.utf8.count + tail.readableBytes)
        frame.writeInteger(FrontendMessage.Code.parse)
        frame.writeInteger(Int32(4 + name.utf8.count + 1 + tail.readableBytes))
        frame.writeNullTerminatedString(name)
        frame.writeImmutableBuffer(tail)
        out.append(frame)
        replies.append(.parse(statement: id, injected: injected))
    }

    private func encode(_ message: FrontendMessage) -> ByteBuffer {
        var b = allocator.buffer(capacity: 32)
        message.encode(into: &b)
        return b
    }
}
