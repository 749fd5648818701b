// LinkTracker as step tables: when a client may give its server back in each pool mode.
import PGWire
import SessionCore
import Testing

@Suite("LinkTracker")
struct LinkTrackerTests {
    struct Step: Sendable, CustomTestStringConvertible {
        var sent: [Character]
        var answered: Int
        var status: TransactionStatus
        var boundary = true
        var expected: [PoolMode: LinkDecision]
        var testDescription: String { "sent \(String(sent)) answered \(answered) \(status)" }
    }

    static let steps: [Step] = [
        // Nothing sent yet (just linked): an idle server may go back at once outside session mode.
        Step(sent: [], answered: 0, status: .idle, expected: [.session: .keep, .transaction: .release, .statement: .release]),
        // A simple query answered.
        Step(sent: ["Q"], answered: 1, status: .idle, expected: [.session: .keep, .transaction: .release, .statement: .release]),
        // A simple query not yet answered.
        Step(sent: ["Q"], answered: 0, status: .idle, expected: [.transaction: .keep, .statement: .keep]),
        // BEGIN answered: inside a transaction the server stays; statement mode refuses.
        Step(sent: ["Q"], answered: 1, status: .inTransaction, expected: [.transaction: .keep, .statement: .refuseTransaction]),
        Step(sent: ["Q", "Q"], answered: 2, status: .failedTransaction, expected: [.transaction: .keep, .statement: .refuseTransaction]),
        // Extended protocol: Parse/Bind/Execute without Sync leaves the state unknown.
        Step(sent: ["P", "B", "E"], answered: 0, status: .idle, expected: [.transaction: .keep, .statement: .keep]),
        Step(sent: ["P", "B", "E", "S"], answered: 1, status: .idle, expected: [.transaction: .release, .statement: .release]),
        // A pipeline of two Syncs answered only once so far.
        Step(sent: ["P", "B", "E", "S", "B", "E", "S"], answered: 1, status: .idle, expected: [.transaction: .keep]),
        Step(sent: ["P", "B", "E", "S", "B", "E", "S"], answered: 2, status: .idle, expected: [.transaction: .release]),
        // Describe + Flush (asyncpg's prepare) waits for a Sync.
        Step(sent: ["P", "D", "H"], answered: 0, status: .idle, expected: [.transaction: .keep]),
        // FunctionCall is answered by a ReadyForQuery of its own.
        Step(sent: ["F"], answered: 1, status: .idle, expected: [.transaction: .release]),
        // COPY FROM STDIN: the Query counts once; CopyData/CopyDone add nothing.
        Step(sent: ["Q", "d", "d", "c"], answered: 1, status: .idle, expected: [.transaction: .release]),
        // A frame cut in half on either side keeps the server.
        Step(sent: ["Q"], answered: 1, status: .idle, boundary: false, expected: [.transaction: .keep, .statement: .keep]),
    ]

    @Test(arguments: steps)
    func decisions(_ step: Step) {
        var t = LinkTracker()
        for c in step.sent { t.clientSent(c.asciiValue!) }
        for (mode, want) in step.expected {
            #expect(t.decide(mode: mode, answered: step.answered, status: step.status, atBoundary: step.boundary) == want, "\(mode)")
        }
    }

    @Test func settledCountsExactly() {
        var t = LinkTracker()
        t.clientSent(UInt8(ascii: "Q"))
        t.clientSent(UInt8(ascii: "Q"))
        #expect(!t.settled(answered: 1))
        #expect(t.settled(answered: 2))
        #expect(!t.settled(answered: 3))
    }
}
