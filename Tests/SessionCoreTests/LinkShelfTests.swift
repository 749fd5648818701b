// LinkShelf and LinkState: a link's storage exists only while a link uses it, goes back to the shelf emptied, and is
// reused by the next link; a session copied while linked keeps its own.
import NIOCore
import PGWire
@testable import SessionCore
import Testing

@Suite("Link storage out of line")
struct LinkShelfTests {
    static let t0 = ClientSessionTests.t0

    /// A transaction-mode session linked with "SELECT 1" sent and not yet answered.
    static func linkedSession(shelf: inout LinkShelf) -> ClientSession {
        var s = ClientSessionTests.session()
        _ = s.read(ClientSessionTests.bytes([.query("SELECT 1")]), searchPath: "", catalog: TestCatalog(), now: t0)
        shelf.lend(to: &s)
        _ = s.linked(statements: ClientSessionEventsTests.lent(), catalog: TestCatalog())
        return s
    }

    @Test func aNewSessionHoldsNoLinkStorage() {
        let s = ClientSessionTests.session()
        #expect(!s.link.isAllocated)
        // Reading the link's fields while idle makes none.
        #expect(s.outgoing.isEmpty && s.expected.isEmpty && s.tracker.sent == 0)
        #expect(!s.link.isAllocated)
    }

    @Test func theStorageGoesBackEmptiedAndTheNextLinkReusesIt() throws {
        var shelf = LinkShelf()
        var s = Self.linkedSession(shelf: &shelf)
        #expect(s.link.isAllocated && s.tracker.sent == 1 && s.outgoing.count == 1)
        // By identity only: a reference kept here would make the box shared, and so not shelved.
        let box = ObjectIdentifier(try #require(s.link.box))
        s.outgoing.removeAll()
        let action = s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false,
                                catalog: TestCatalog(), now: Self.t0)
        guard case .release = action else { Issue.record("expected a release, got \(action)"); return }
        shelf.takeBack(from: &s)
        #expect(!s.link.isAllocated && shelf.count == 1)

        // Another client's link takes that box, emptied: nothing of the first link shows.
        var other = Self.linkedSession(shelf: &shelf)
        #expect(other.link.box.map(ObjectIdentifier.init) == box && shelf.count == 0)
        #expect(other.tracker.sent == 1 && other.outgoing.count == 1)
        other.outgoing.removeAll()
        #expect(!other.gate.holding && other.lentStatements.count == 0)
    }

    @Test func aCopyOfALinkedSessionIsNotShelvedAndChangesApart() throws {
        var shelf = LinkShelf()
        var s = Self.linkedSession(shelf: &shelf)
        let copy = s
        // Changing one copies the box first: the other still sees what it had.
        s.outgoing.removeAll()
        #expect(copy.outgoing.count == 1 && s.outgoing.isEmpty)
        #expect(copy.link.box !== s.link.box)
        // A box still shared is left to its other owner rather than reused under it.
        var shared = s
        shelf.takeBack(from: &s)
        #expect(shelf.count == 0 && shared.link.isAllocated)
        shared.outgoing.append(ByteBuffer(string: "x"))
        #expect(shared.outgoing.count == 1)
    }

    @Test func theShelfKeepsAtMostItsLimit() {
        var shelf = LinkShelf()
        for _ in 0..<(LinkShelf.limit + 3) {
            var s = ClientSessionTests.session()
            s.outgoing.append(ByteBuffer(string: "x"))
            shelf.takeBack(from: &s)
        }
        #expect(shelf.count == LinkShelf.limit)
    }
}
