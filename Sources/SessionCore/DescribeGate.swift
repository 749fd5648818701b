// The client's frames held from a Bind that waits for its statement's description on the server, in the order sent.
import NIOCore
import PGWire

/// While `statement` is set, everything the client sends is kept here unrewritten: the waiting Bind first, then what
/// followed it. Rewritten only when the answer came, each frame meets the server's statements as they then are.
struct DescribeGate: Sendable {
    enum Item: Sendable {
        /// An observed frame; `dropsStatements`: SQL in it may drop shared statements (DEALLOCATE or DISCARD in a
        /// multi-statement query), as the session scan said when it arrived.
        case frame(type: UInt8, body: ByteBuffer, dropsStatements: Bool)
        /// Bytes of frames nobody looks into (CopyData).
        case bytes(ByteBuffer)
    }

    private(set) var statement: Int?
    /// A Bind just dropped waits for this statement: the gate closes at the next cut, after the frames that ask for
    /// the description (the Bind is already the first item).
    private var closesFor: Int?
    private(set) var items: [Item] = []
    /// The bytes held, as the client sent them (past ClientSession.holdLimit, the client is held back by TCP).
    private(set) var heldBytes = 0

    var holding: Bool { statement != nil }

    /// Holds `items` (the waiting Bind first) until `statement` is described.
    mutating func close(for statement: Int, holding items: ArraySlice<Item>) {
        self.statement = statement
        for item in items { hold(item) }
    }

    /// The Bind `bind` waits for `statement`'s description: held from now, the gate closing at the next cut.
    mutating func closeAtCut(for statement: Int, bind: Item) {
        closesFor = statement
        hold(bind)
    }

    /// The cut came: a gate set to close does.
    mutating func cut() {
        guard let pending = closesFor else { return }
        statement = pending
        closesFor = nil
    }

    mutating func hold(_ item: Item) {
        switch item {
        case .frame(_, let body, _): heldBytes += 5 + body.readableBytes
        case .bytes(let b): heldBytes += b.readableBytes
        }
        items.append(item)
    }

    /// Opens: the held items, in order, and nothing held any more.
    mutating func open() -> [Item] {
        statement = nil
        closesFor = nil
        heldBytes = 0
        defer { items = [] }
        return items
    }

    /// The name of the statement the waiting Bind binds, if the client describes that Bind's portal before executing
    /// it: it then learns the statement's current columns in this batch, which may differ from those it knew.
    static func describesPortal(_ items: [Item]) -> String? {
        guard case .frame(_, var bind, _)? = items.first, let portal = bind.readNullTerminatedString(),
              let name = bind.readNullTerminatedString() else { return nil }
        for item in items.dropFirst() {
            guard case .frame(let type, var body, _) = item else { continue }
            switch type {
            case FrontendMessage.Code.describe:
                if body.readInteger(as: UInt8.self) == FrontendMessage.TargetKind.portal.rawValue, body.readNullTerminatedString() == portal { return name }
            case FrontendMessage.Code.flush:
                continue
            default:
                // Execute, Sync or anything else before the Describe: rows may come first.
                return nil
            }
        }
        return nil
    }
}
