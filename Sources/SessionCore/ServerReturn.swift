// The one decision of what happens to a server when its client lets go: reuse, reset, cancel then close, or close.
import PGWire

/// Why the server comes back, with what the client side knows of the link at that moment.
public enum LetGo: Equatable, Sendable {
    /// The client has nothing outstanding there: between transactions in transaction or statement mode, a link that
    /// never carried anything (the client left while it was prepared), a session probe that finished.
    /// `keepsSession` and `pinned` as for `clientLeft`.
    case done(keepsSession: Bool, pinned: Bool)
    /// The client closed or vanished while linked. `sent`: its Query/Sync/FunctionCall messages on this link;
    /// `halfSent`: extended-protocol messages without their Sync, or a frame cut in half on the client's side.
    /// `keepsSession`: session mode, or a pinned client, so the session must be reset before anyone else has it;
    /// `pinned`: the client left state on the session that only a reset query clears.
    case clientLeft(sent: Int, halfSent: Bool, keepsSession: Bool, pinned: Bool)
    /// Handed out by the pool but never linked: its waiter left first, so no client's bytes or settings reached it
    /// (no reset, even with server_reset_query_always).
    case untouched
    /// pgswift's own use of the server failed (server_check_query, the session probe, the settings sync).
    case internalFailed
    /// server_reset_query finished; `failed` when it raised an error.
    case resetFinished(failed: Bool)
}

/// What the server side knows of itself at that moment.
public struct ServerCondition: Equatable, Sendable {
    /// ReadyForQuery messages received on this link, and the status the last one (or the login) carried.
    public var answered: Int
    public var status: TransactionStatus
    /// No server frame is cut in half, no reply owed to an injected or made-up message, no failure held for a retry.
    public var quiet: Bool
    /// The connection is still open.
    public var open: Bool
    /// RECONNECT (or a changed target) asked for this connection to be closed when it comes back.
    public var closeRequested: Bool
    public var hasResetQuery: Bool
    /// server_reset_query_always: reset after transaction-mode use too.
    public var resetAlways: Bool

    public init(answered: Int, status: TransactionStatus, quiet: Bool, open: Bool, closeRequested: Bool, hasResetQuery: Bool, resetAlways: Bool) {
        self.answered = answered
        self.status = status
        self.quiet = quiet
        self.open = open
        self.closeRequested = closeRequested
        self.hasResetQuery = hasResetQuery
        self.resetAlways = resetAlways
    }
}

/// The server's fate.
public enum ServerFate: Equatable, Sendable {
    /// Back to the pool as it is.
    case reuse
    /// Run server_reset_query, then decide again (`.resetFinished`).
    case reset
    /// Work may still be running there: cancel it, then close (a cancelled session is never trusted again).
    case cancelThenClose
    case close
}

public enum ServerReturn {
    public static func decide(_ letGo: LetGo, _ server: ServerCondition) -> ServerFate {
        switch letGo {
        case .internalFailed:
            return .close
        case .untouched:
            return server.open && server.quiet && server.status == .idle && !server.closeRequested ? .reuse : .close
        case .resetFinished(let failed):
            return failed || !server.open || server.status != .idle || server.closeRequested ? .close : .reuse
        case .done(let keepsSession, let pinned):
            return settle(busy: !server.quiet || server.status != .idle, keepsSession: keepsSession, pinned: pinned, server)
        case .clientLeft(let sent, let halfSent, let keepsSession, let pinned):
            let busy = halfSent || sent != server.answered || !server.quiet || server.status != .idle
            return settle(busy: busy, keepsSession: keepsSession, pinned: pinned, server)
        }
    }

    private static func settle(busy: Bool, keepsSession: Bool, pinned: Bool, _ server: ServerCondition) -> ServerFate {
        // A backend still working does not notice its socket closing until it writes: it is cancelled either way.
        if busy { return .cancelThenClose }
        if !server.open || server.closeRequested { return .close }
        // A pinned session holds what only a reset can clear (LISTEN, locks, temp tables): without one it is closed.
        if pinned && !server.hasResetQuery { return .close }
        if server.hasResetQuery && (keepsSession || server.resetAlways) { return .reset }
        return .reuse
    }
}
