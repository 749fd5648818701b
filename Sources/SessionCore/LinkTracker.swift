// Knows, from the messages a client sent and the ReadyForQuery messages its server answered, when the two may part.
import PGWire

/// How long a client keeps a server.
public enum PoolMode: String, Sendable {
    case session, transaction, statement
}

/// The decision after the server has answered something, as the client side sees it.
public enum LinkDecision: Equatable, Sendable {
    /// Keep the server: answers are pending, a transaction is open, or the mode is session.
    case keep
    /// Give the server back to the pool; it is idle and clean.
    case release
    /// Statement mode and the client opened a transaction: refuse, as PgBouncer does.
    case refuseTransaction
}

/// Pure bookkeeping for one client-server link. The client side feeds the frames it forwards;
/// the server side's ReadyForQuery count and status arrive with the bytes it delivers.
public struct LinkTracker: Sendable, Equatable {
    /// Query, Sync and FunctionCall messages sent: each is answered by exactly one ReadyForQuery.
    public private(set) var sent = 0
    /// Extended-protocol messages sent since the last Sync: until it, the server's state is unknown.
    public private(set) var unsynced = false

    public init() {}

    public mutating func clientSent(_ type: UInt8) {
        switch type {
        case FrontendMessage.Code.query, FrontendMessage.Code.sync, FrontendMessage.Code.functionCall:
            sent += 1
            unsynced = false
        case FrontendMessage.Code.parse, FrontendMessage.Code.bind, FrontendMessage.Code.describe,
            FrontendMessage.Code.execute, FrontendMessage.Code.close, FrontendMessage.Code.flush:
            unsynced = true
        default:
            break
        }
    }

    /// True when every message sent has been answered and nothing is half-sent.
    public func settled(answered: Int) -> Bool {
        sent == answered && !unsynced
    }

    /// What to do after the server delivered bytes ending with `answered` ReadyForQuery messages in all,
    /// the last carrying `status`; `atBoundary` says no frame is cut in half on either side.
    public func decide(mode: PoolMode, answered: Int, status: TransactionStatus, atBoundary: Bool) -> LinkDecision {
        guard mode != .session, atBoundary, settled(answered: answered) else { return .keep }
        switch status {
        case .idle: return .release
        case .inTransaction, .failedTransaction: return mode == .statement ? .refuseTransaction : .keep
        }
    }
}
