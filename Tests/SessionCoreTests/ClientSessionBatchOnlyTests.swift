// ClientSession.batchOnly: a link that takes one batch holds what the client sends behind it, and ends by asking
// for a server for that.
import NIOCore
import PGWire
@testable import SessionCore
import Testing

@Suite("ClientSession batchOnly")
struct ClientSessionBatchOnlyTests {
    static let t0 = ClientSessionTests.t0
    static let select = ClientSessionTests.bytes([.query("SELECT 1")])
    static let insert = ClientSessionTests.bytes([.query("INSERT INTO t VALUES (1)")])

    static func read(_ s: inout ClientSession, _ bytes: ByteBuffer) -> ClientAction {
        s.read(bytes, searchPath: "", catalog: TestCatalog(), now: t0)
    }

    @Test func bytesBehindTheBatchWaitForTheNextLease() {
        var s = ClientSessionTests.session()
        #expect(Self.read(&s, Self.select) == .lease(stopReading: false))
        // Arrived while the read waited for its server, after routing chose a replica for it.
        s.batchOnly = s.heldBytes
        #expect(Self.read(&s, Self.insert) == .none)
        _ = s.linked(statements: ClientSessionEventsTests.lent(), catalog: TestCatalog())
        #expect(ClientSessionTests.sentTypes(&s) == ["Q"])
        #expect(s.held == [Self.insert] && s.holdingAfterBatch)
        // More while linked: held too, not sent.
        let more = ClientSessionTests.bytes([.query("SELECT 2")])
        #expect(Self.read(&s, more) == .none)
        #expect(s.outgoing.isEmpty && s.held == [Self.insert, more])
        guard case .releaseThenLease = s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false,
                                                   catalog: TestCatalog(), now: Self.t0) else {
            Issue.record("the link should end with a lease for what was held")
            return
        }
        #expect(s.phase == .waiting && !s.holdingAfterBatch && s.held == [Self.insert, more])
    }

    @Test func theBatchIsCutOutOfABufferThatHoldsMore() {
        var s = ClientSessionTests.session()
        var both = Self.select
        var tail = Self.insert
        both.writeBuffer(&tail)
        #expect(Self.read(&s, both) == .lease(stopReading: false))
        s.batchOnly = Self.select.readableBytes
        _ = s.linked(statements: ClientSessionEventsTests.lent(), catalog: TestCatalog())
        #expect(ClientSessionTests.sentTypes(&s) == ["Q"])
        #expect(s.held == [Self.insert] && s.heldBytes == Self.insert.readableBytes)
    }

    @Test func withoutBatchOnlyTheLinkTakesEverything() {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, Self.select)
        _ = Self.read(&s, Self.insert)
        _ = s.linked(statements: ClientSessionEventsTests.lent(), catalog: TestCatalog())
        #expect(ClientSessionTests.sentTypes(&s) == ["Q", "Q"])
        #expect(s.held.isEmpty && !s.holdingAfterBatch)
    }
}
