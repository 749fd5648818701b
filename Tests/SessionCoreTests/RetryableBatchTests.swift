// RetryableBatch as step tables: which client batches are kept for one more run after a stale cached plan.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("RetryableBatch")
struct RetryableBatchTests {
    /// A message: its type letter and, for Bind, the statement it binds ("" = unnamed).
    enum Msg: Sendable, CustomStringConvertible {
        case bind(String)
        case other(Character)

        var type: UInt8 {
            switch self {
            case .bind: FrontendMessage.Code.bind
            case .other("d"): FrontendMessage.Code.describe
            case .other(let c): c.asciiValue!
            }
        }

        var body: ByteBuffer {
            var b = ByteBuffer()
            if case .bind(let name) = self {
                b.writeNullTerminatedString("")
                b.writeNullTerminatedString(name)
                b.writeBytes([0, 0, 0, 0, 0, 0])
            } else if case .other("D") = self {
                // Describe of the (unnamed) portal.
                b.writeBytes([UInt8(ascii: "P"), 0])
            } else if case .other("d") = self {
                // Describe of a statement: lower-case d in these tables, sent as 'D'.
                b.writeBytes([UInt8(ascii: "S"), 0])
            } else {
                b.writeBytes([0])
            }
            return b
        }

        var description: String {
            switch self {
            case .bind(let n): "B(\(n))"
            case .other(let c): String(c)
            }
        }
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var messages: [Msg]
        /// Whether the batch may be sent again after the last message, and how many messages it holds.
        var replayable: Bool
        var frames: Int
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "Bind of a named statement, Describe of the portal, Execute, Sync (libpq)",
                 messages: [.bind("s1"), .other("D"), .other("E"), .other("S")], replayable: true, frames: 4),
        Scenario(name: "without a Describe of the portal the client may hold an old row description",
                 messages: [.bind("s1"), .other("E"), .other("S")], replayable: false, frames: 3),
        Scenario(name: "a Describe of the statement is not one of the portal",
                 messages: [.bind("s1"), .other("d"), .other("E"), .other("S")], replayable: false, frames: 4),
        Scenario(name: "not before its Sync", messages: [.bind("s1"), .other("D"), .other("E")], replayable: false, frames: 3),
        Scenario(name: "an unnamed statement's Bind", messages: [.bind(""), .other("D"), .other("E"), .other("S")], replayable: false, frames: 0),
        Scenario(name: "a Parse first", messages: [.other("P"), .bind("s1"), .other("D"), .other("E"), .other("S")], replayable: false, frames: 0),
        Scenario(name: "two Binds in one batch", messages: [.bind("s1"), .other("D"), .other("E"), .bind("s2"), .other("E"), .other("S")],
                 replayable: false, frames: 0),
        Scenario(name: "a Close inside", messages: [.bind("s1"), .other("D"), .other("C"), .other("E"), .other("S")], replayable: false, frames: 0),
        Scenario(name: "the batch after a simple query", messages: [.other("Q"), .bind("s1"), .other("D"), .other("E"), .other("S")],
                 replayable: true, frames: 4),
        Scenario(name: "only the latest batch", messages: [.bind("s1"), .other("E"), .other("S"), .bind("s2"), .other("D"), .other("E"), .other("S")],
                 replayable: true, frames: 4),
        Scenario(name: "a replayable batch followed by a Query", messages: [.bind("s1"), .other("D"), .other("E"), .other("S"), .other("Q")],
                 replayable: false, frames: 0),
    ]

    @Test(arguments: scenarios)
    func shapes(_ s: Scenario) {
        var batch = RetryableBatch()
        for m in s.messages { batch.record(m.type, m.body) }
        #expect(batch.replayable == s.replayable)
        #expect(batch.frames.count == s.frames)
    }

    @Test func retriedOnceThenNewBatchAgain() {
        var batch = RetryableBatch()
        for m: Msg in [.bind("s1"), .other("D"), .other("E"), .other("S")] { batch.record(m.type, m.body) }
        #expect(batch.replayable)
        batch.markRetried()
        #expect(!batch.replayable)
        for m: Msg in [.bind("s1"), .other("D"), .other("E"), .other("S")] { batch.record(m.type, m.body) }
        #expect(batch.replayable)
        batch.answered()
        #expect(!batch.replayable && batch.frames.isEmpty)
    }

    @Test func largeBatchIsNotKept() {
        var batch = RetryableBatch()
        var big = Msg.bind("s1").body
        big.writeBytes([UInt8](repeating: 7, count: RetryableBatch.maxBytes))
        batch.record(FrontendMessage.Code.bind, big)
        batch.record(UInt8(ascii: "E"), Msg.other("E").body)
        batch.record(UInt8(ascii: "S"), Msg.other("S").body)
        #expect(!batch.replayable && batch.frames.isEmpty)
    }
}
