// Made-up replies skipped after an error are reported, and the rewriter undoes what it did when it made them up.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("Made-up replies skipped after an error")
struct MadeUpRepliesTests {
    @Test func queueReportsEmittedAndSkippedInOrder() {
        var q = PendingReplies()
        var out: [SyntheticReply] = [], failed: [FailedParse] = []
        q.append(.synthetic(.parseComplete), out: &out, failed: &failed)  // due at once: goes out
        q.append(.bind, out: &out, failed: &failed)
        q.append(.synthetic(.parseComplete), out: &out, failed: &failed)
        q.append(.synthetic(.closeComplete), out: &out, failed: &failed)
        q.append(.sync, out: &out, failed: &failed)
        #expect(q.takeOutcomes() == [true])
        // The Bind fails: the server skips to Sync, so the two made-up replies behind it never happened.
        _ = q.received(BackendMessage.Code.errorResponse, out: &out, failed: &failed)
        #expect(q.takeOutcomes() == [false, false])
        #expect(q.takeOutcomes() == [])
    }

    @Test func rewriterUndoesSkippedParseAndClose() throws {
        var ids: [ByteBuffer: Int] = [:]
        let intern: (ByteBuffer) -> Int = { tail in
            if let id = ids[tail] { return id }
            ids[tail] = ids.count + 1
            return ids.count
        }
        var rewriter = StatementRewriter()
        var server = ServerStatementCache(capacity: 10)
        var out: [ByteBuffer] = [], replies: [PendingReply] = []
        func send(_ m: FrontendMessage) throws {
            var frame = ByteBuffer()
            m.encode(into: &frame)
            let type = frame.readInteger(as: UInt8.self)!
            _ = frame.readInteger(as: Int32.self)
            _ = try rewriter.rewrite(type: type, body: frame, server: &server, intern: intern, out: &out, replies: &replies)
        }
        try send(.parse(name: "a", query: "SELECT 1", parameterTypes: []))
        rewriter.repliesSettled()
        // "b" (same text: the server has it, so made up) and Close "a" (made up) both sit behind a failing message.
        try send(.parse(name: "b", query: "SELECT 1", parameterTypes: []))
        try send(.close(.statement, name: "a"))
        #expect(rewriter.statements.keys.sorted() == ["b"])
        rewriter.madeUpRepliesResolved([false, false], server: &server)
        #expect(rewriter.statements.keys.sorted() == ["a"])
        // One that went out stays done.
        try send(.close(.statement, name: "a"))
        rewriter.madeUpRepliesResolved([true], server: &server)
        #expect(rewriter.statements.isEmpty)
    }
}

@Suite("Injected Closes skipped after an error")
struct SkippedCloseTests {
    @Test func evictedStatementComesBackStaleWhenItsCloseIsSkipped() throws {
        var server = ServerStatementCache(capacity: 1)
        var rewriter = StatementRewriter()
        var out: [ByteBuffer] = [], replies: [PendingReply] = []
        var ids: [String: Int] = [:]
        func send(_ m: FrontendMessage) throws {
            var frame = ByteBuffer()
            m.encode(into: &frame)
            let type = frame.readInteger(as: UInt8.self)!
            _ = frame.readInteger(as: Int32.self)
            _ = try rewriter.rewrite(type: type, body: frame, server: &server, intern: { tail in
                let text = String(buffer: tail)
                if let id = ids[text] { return id }
                ids[text] = ids.count + 1
                return ids.count
            }, out: &out, replies: &replies)
        }
        try send(.parse(name: "a", query: "SELECT 1", parameterTypes: []))
        rewriter.repliesSettled()
        replies = []
        // "b" evicts statement 1 (capacity 1): an injected Close goes first, and the server skips it after an error.
        try send(.parse(name: "b", query: "SELECT 2", parameterTypes: []))
        #expect(replies == [.close(injected: true), .parse(statement: 2, injected: false)])
        let held = server.use(1)
        #expect(!held)
        rewriter.madeUpRepliesResolved([false], server: &server)
        // Statement 1 is still on the server: its next use closes it before preparing it again.
        #expect(server.isStale(1))
        replies = []
        try send(.bind(portal: "", statement: "a", parameterFormats: [], parameters: [], resultFormats: []))
        #expect(replies.first == .close(injected: true))
    }
}
