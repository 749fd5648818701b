// WriteRetry as tables: which client batches may go to the new primary after a 25006 refusal, and the BEGIN prologue.
import NIOCore
import PGWire
import Testing
@testable import SessionCore

@Suite("WriteRetry")
struct WriteRetryTests {
    static func bytes(_ messages: [FrontendMessage]) -> ByteBuffer {
        var b = ByteBuffer()
        for m in messages { m.encode(into: &b) }
        return b
    }

    static let unnamedRun: [FrontendMessage] = [
        .parse(name: "", query: "INSERT INTO t VALUES ($1)", parameterTypes: [23]),
        .bind(portal: "", statement: "", parameterFormats: [], parameters: [ByteBuffer(string: "1")], resultFormats: []),
        .describe(.portal, name: ""), .execute(portal: "", maxRows: 0), .sync,
    ]

    struct Batch: Sendable, CustomTestStringConvertible {
        var name: String
        var messages: [FrontendMessage]
        /// Whether it may be sent again as it is (nil: never, whatever follows it).
        var replayable: Bool?
        var testDescription: String { name }
    }

    static let batches: [Batch] = [
        Batch(name: "a simple Query", messages: [.query("INSERT INTO t VALUES (1)")], replayable: true),
        Batch(name: "the unnamed statement's Parse/Bind/Describe/Execute/Sync", messages: unnamedRun, replayable: true),
        Batch(name: "a Bind of a statement the client prepared earlier",
              messages: [.bind(portal: "", statement: "s1", parameterFormats: [], parameters: [], resultFormats: []), .execute(portal: "", maxRows: 0), .sync],
              replayable: true),
        Batch(name: "Flush before the Sync", messages: [.parse(name: "", query: "INSERT INTO t VALUES (1)", parameterTypes: []), .flush,
                                                        .bind(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: []),
                                                        .execute(portal: "", maxRows: 0), .sync],
              replayable: true),
        // The client's statement would exist twice, or (prepared on the demoted node) not at all on the new one.
        Batch(name: "a named Parse", messages: [.parse(name: "s1", query: "INSERT INTO t VALUES (1)", parameterTypes: []), .sync], replayable: nil),
        Batch(name: "a named Parse after an unnamed run", messages: Array(unnamedRun.dropLast()) + [.parse(name: "s2", query: "SELECT 1", parameterTypes: []), .sync],
              replayable: nil),
        Batch(name: "a Close", messages: [.close(.statement, name: "s1"), .sync], replayable: nil),
        Batch(name: "COPY data", messages: [.copyData(ByteBuffer(string: "1\n"))], replayable: nil),
        Batch(name: "a FunctionCall", messages: [.functionCall(oid: 1234, argumentFormats: [], arguments: [], resultFormat: 0)], replayable: nil),
        // Two requests: the first may have been answered by the time the second is refused.
        Batch(name: "two Queries", messages: [.query("SELECT 1"), .query("INSERT INTO t VALUES (1)")], replayable: false),
        Batch(name: "two Syncs", messages: unnamedRun + [.sync], replayable: false),
        Batch(name: "no Sync yet", messages: Array(unnamedRun.dropLast()), replayable: false),
    ]

    @Test(arguments: batches)
    func firstBatch(_ batch: Batch) {
        let retry = WriteRetry(first: [Self.bytes(batch.messages)])
        #expect(retry.replayable == (batch.replayable ?? false))
        #expect(retry.prologue == [])
    }

    @Test func aBatchSplitAcrossBuffersIsReplayableOnlyWhenWhole() throws {
        var all = Self.bytes(Self.unnamedRun)
        // Cut inside the Parse's text, then inside the Bind's header: TCP keeps no frame boundaries.
        let first = all.readSlice(length: 9)!, second = all.readSlice(length: 40)!, third = all.readSlice(length: all.readableBytes - 3)!, rest = all
        var retry = WriteRetry(first: [first, second])
        #expect(!retry.replayable)
        retry.sent(third)
        #expect(!retry.replayable)
        retry.sent(rest)
        #expect(retry.replayable)
        // Sent again byte for byte as the client sent it.
        #expect(retry.batch == [first, second, third, rest])
    }

    @Test func aNamedParseInALaterBufferEndsTheRetry() throws {
        var retry = WriteRetry(first: [Self.bytes([.query("INSERT INTO t VALUES (1)")])])
        #expect(retry.replayable)
        retry.sent(Self.bytes([.parse(name: "s1", query: "SELECT 1", parameterTypes: [])]))
        #expect(!retry.replayable)
        // Nothing after it makes it good again.
        retry.sent(Self.bytes([.sync]))
        #expect(!retry.replayable)
        let kept = retry.delivered(ready: 0, status: .idle)
        #expect(!kept)
    }

    @Test func aBatchPastTheLimitIsLetGo() {
        // A client pipelining megabytes before the first answer: its bytes are not kept for a retry.
        var retry = WriteRetry(first: [Self.bytes([.query("INSERT INTO t VALUES (1)")])])
        retry.sent(Self.bytes([.query("SELECT '" + String(repeating: "x", count: WriteRetry.maxBytes) + "'")]))
        #expect(!retry.replayable && retry.batch.isEmpty)
    }

    struct Text: Sendable, CustomTestStringConvertible {
        var text: String
        var begins: Bool
        var testDescription: String { "\(text.debugDescription) → \(begins)" }
    }

    static let texts: [Text] = [
        Text(text: "BEGIN", begins: true),
        Text(text: "begin;", begins: true),
        Text(text: "  /* pgswift: primary */ BEGIN ISOLATION LEVEL SERIALIZABLE", begins: true),
        Text(text: "START TRANSACTION READ WRITE", begins: true),
        Text(text: "BEGIN ; \n", begins: true),
        Text(text: "BEGIN; INSERT INTO t VALUES (1)", begins: false),
        Text(text: "BEGINNING", begins: false),
        Text(text: "SELECT 1", begins: false),
        Text(text: "START", begins: false),
        Text(text: "BEGIN;;", begins: false),
        Text(text: "", begins: false),
    ]

    @Test(arguments: texts)
    func onlyBegins(_ t: Text) {
        #expect(WriteRetry.onlyBegins(t.text) == t.begins)
    }

    @Test func anAnsweredBeginBecomesThePrologueOfTheNextBatch() throws {
        var retry = WriteRetry(first: [Self.bytes([.query("BEGIN")])])
        let kept = retry.delivered(ready: 1, status: .inTransaction)
        #expect(kept)
        #expect(retry.prologue == ["BEGIN"])
        #expect(retry.batch.isEmpty && !retry.replayable)
        let insert = Self.bytes([.query("INSERT INTO t VALUES (1)")])
        retry.sent(insert)
        #expect(retry.replayable)
        #expect(retry.batch == [insert])
        #expect(retry.prologue == ["BEGIN"])
    }

    @Test func aSecondBeginJoinsThePrologue() throws {
        // PostgreSQL warns and carries on: both run again on the new primary, as the client sent them.
        var retry = WriteRetry(first: [Self.bytes([.query("BEGIN")])])
        let first = retry.delivered(ready: 1, status: .inTransaction)
        retry.sent(Self.bytes([.query("START TRANSACTION")]))
        let second = retry.delivered(ready: 1, status: .inTransaction)
        #expect(first && second)
        #expect(retry.prologue == ["BEGIN", "START TRANSACTION"])
    }

    struct Answer: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var ready: Int
        var status: TransactionStatus
        var testDescription: String { name }
    }

    /// Answers after which a retry would repeat something the client has seen.
    static let endings: [Answer] = [
        Answer(name: "a BEGIN answered idle (it failed)", text: "BEGIN", ready: 1, status: .idle),
        Answer(name: "a BEGIN answered in a failed transaction", text: "BEGIN", ready: 1, status: .failedTransaction),
        Answer(name: "part of the answer only", text: "BEGIN", ready: 0, status: .inTransaction),
        Answer(name: "an INSERT answered inside a transaction", text: "INSERT INTO t VALUES (1)", ready: 1, status: .inTransaction),
        Answer(name: "an INSERT answered", text: "INSERT INTO t VALUES (1)", ready: 1, status: .idle),
        Answer(name: "BEGIN and an INSERT in one Query", text: "BEGIN; INSERT INTO t VALUES (1)", ready: 1, status: .inTransaction),
    ]

    @Test(arguments: endings)
    func answersThatEndTheRetry(_ a: Answer) throws {
        var retry = WriteRetry(first: [Self.bytes([.query(a.text)])])
        let kept = retry.delivered(ready: a.ready, status: a.status)
        #expect(!kept)
        #expect(retry.prologue.isEmpty)
    }

    @Test func aBeginByTheExtendedProtocolIsNoPrologue() throws {
        // Only a simple Query's text is kept to run again; a Parse of BEGIN is not.
        let begin: [FrontendMessage] = [.parse(name: "", query: "BEGIN", parameterTypes: []),
                                        .bind(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: []),
                                        .execute(portal: "", maxRows: 0), .sync]
        var retry = WriteRetry(first: [Self.bytes(begin)])
        let kept = retry.delivered(ready: 1, status: .inTransaction)
        #expect(!kept)
    }
}
