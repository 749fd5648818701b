// The client's batch of extended-protocol messages kept until answered, so that it can be sent once more after a
// stale cached plan ("cached plan must not change result type") failed its Bind.
import NIOCore
import PGWire

/// The messages of the client's current extended-protocol batch, while it has the one shape that can be sent again
/// safely: a Bind of a named statement, then only Describe, Execute and Flush, up to Sync (what drivers send to run a
/// prepared statement). Anything else has effects a second run could not undo, so it is not kept. It is replayable
/// only with a Describe of the portal (libpq's PQsendQueryPrepared sends one): the failure means the rows changed
/// shape, and a client that decodes them with a row description it cached (asyncpg, pgjdbc) must see the failure
/// instead, which makes it prepare the statement again itself.
public struct RetryableBatch: Sendable {
    public private(set) var frames: [(type: UInt8, body: ByteBuffer)] = []
    private var shapeHolds = false
    private var describesPortal = false
    /// The last message ended a batch (Sync, or a simple-protocol message).
    private var ended = true
    private var bytes = 0
    public private(set) var retried = false

    /// Kept only while a batch this small is waiting for its answer.
    public static let maxBytes = 64 * 1024

    public init() {}

    public mutating func record(_ type: UInt8, _ body: ByteBuffer) {
        if ended {
            ended = false
            frames.removeAll(keepingCapacity: true)
            bytes = 0
            retried = false
            describesPortal = false
            shapeHolds = type == FrontendMessage.Code.bind && Self.bindsNamedStatement(body)
        } else if shapeHolds {
            switch type {
            case FrontendMessage.Code.describe:
                if body.readableBytes > 0, body.getInteger(at: body.readerIndex, as: UInt8.self) == UInt8(ascii: "P") { describesPortal = true }
            case FrontendMessage.Code.execute, FrontendMessage.Code.flush, FrontendMessage.Code.sync: break
            default: shapeHolds = false
            }
        }
        if shapeHolds {
            bytes += body.readableBytes
            if bytes > Self.maxBytes { shapeHolds = false }
        }
        if shapeHolds { frames.append((type, body)) } else if !frames.isEmpty { frames.removeAll() }
        switch type {
        case FrontendMessage.Code.sync, FrontendMessage.Code.query, FrontendMessage.Code.functionCall: ended = true
        default: break
        }
    }

    /// A complete batch of the right shape, not yet sent twice.
    public var replayable: Bool { ended && shapeHolds && describesPortal && !retried && !frames.isEmpty }

    public mutating func markRetried() { retried = true }

    /// Answered: nothing will ask for it again, and its buffers are let go.
    public mutating func answered() {
        if !frames.isEmpty { frames.removeAll(keepingCapacity: true) }
        shapeHolds = false
    }

    private static func bindsNamedStatement(_ body: ByteBuffer) -> Bool {
        body.withUnsafeReadableBytes { raw in
            guard let portalEnd = raw.firstIndex(of: 0), portalEnd + 1 < raw.count else { return false }
            return raw[portalEnd + 1] != 0
        }
    }
}
