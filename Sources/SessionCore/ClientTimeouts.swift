// The client-side timeouts, with PgBouncer's meanings: query_timeout, idle_transaction_timeout, transaction_timeout
// and client_idle_timeout, decided from the times a client's clock keeps (time passed in).
import NIOCore
import PGWire

/// The four limits in seconds (0: off), read from the config once per sweep.
public struct ClientTimeoutLimits: Sendable, Equatable {
    public var query: Double
    public var idleTransaction: Double
    public var transaction: Double
    public var clientIdle: Double

    public init(query: Double = 0, idleTransaction: Double = 0, transaction: Double = 0, clientIdle: Double = 0) {
        self.query = query
        self.idleTransaction = idleTransaction
        self.transaction = transaction
        self.clientIdle = clientIdle
    }

    public var any: Bool { query > 0 || idleTransaction > 0 || transaction > 0 || clientIdle > 0 }
}

/// Which limit a client passed: the setting's name (for /metrics and the advice) and the FATAL message it gets.
public enum ClientTimeout: String, Sendable, Equatable, CaseIterable {
    case query = "query_timeout"
    case idleTransaction = "idle_transaction_timeout"
    case transaction = "transaction_timeout"
    case clientIdle = "client_idle_timeout"
    /// Decided by the pool (a client queued too long), carried out like the others.
    case queryWait = "query_wait_timeout"

    public var setting: String { rawValue }
    /// PgBouncer's texts.
    public var message: String {
        switch self {
        case .query: "query_timeout"
        case .idleTransaction: "idle transaction timeout"
        case .transaction: "transaction timeout"
        case .clientIdle: "client_idle_timeout"
        case .queryWait: "query_wait_timeout"
        }
    }
}

/// Where a client stands, as far as the timeouts go.
public enum ClientPhase: Sendable, Equatable {
    /// Between transactions (or an admin console): only client_idle_timeout applies.
    case unlinked
    /// Queued for a server: a request waiting counts as a query.
    case waiting
    case linked
    /// The session probe is running: it is a query too.
    case settling
}

/// The times the timeouts measure from.
public struct ClientClock: Sendable, Equatable {
    /// When the client last sent something, and when it began waiting for a server.
    public var lastRequest: NIODeadline
    public var waitStarted: NIODeadline
    /// When a server last delivered (client_idle_timeout counts from it too).
    public var lastDelivered: NIODeadline

    public init(now: NIODeadline) {
        lastRequest = now
        waitStarted = now
        lastDelivered = now
    }

    /// The limit the client has passed at `now`, if any; `sent`: the requests it sent on the current link, `link`: what
    /// its server answered on it.
    public func expired(_ phase: ClientPhase, sent: Int, link: LinkClock, limits: ClientTimeoutLimits, now: NIODeadline) -> ClientTimeout? {
        func since(_ t: NIODeadline) -> Double { Double((now - t).nanoseconds) / 1e9 }
        let answeredOnLink = link.answered, serverStatus = link.status, transactionStarted = link.transactionStarted
        switch phase {
        case .linked:
            let quietFor = since(max(lastRequest, lastDelivered))
            if sent > answeredOnLink {
                // The running query is cancelled with the client's link, which is then closed: PgBouncer's way.
                if limits.query > 0, since(lastRequest) > limits.query { return .query }
            } else if serverStatus != .idle {
                if limits.idleTransaction > 0, quietFor > limits.idleTransaction { return .idleTransaction }
            } else if limits.clientIdle > 0, quietFor > limits.clientIdle {
                return .clientIdle
            }
            if limits.transaction > 0, serverStatus != .idle, let start = transactionStarted, since(start) > limits.transaction {
                return .transaction
            }
            return nil
        case .unlinked:
            return limits.clientIdle > 0 && since(max(lastRequest, lastDelivered)) > limits.clientIdle ? .clientIdle : nil
        case .waiting:
            return limits.query > 0 && since(waitStarted) > limits.query ? .query : nil
        case .settling:
            // A server that stops answering the probe must not hold the client forever.
            return limits.query > 0 && since(lastDelivered) > limits.query ? .query : nil
        }
    }
}

/// The clock's part that only a link has (kept in LinkState): what the server had answered when it last delivered, the
/// status it reported, and when its transaction began.
public struct LinkClock: Sendable, Equatable {
    public var answered = 0
    public var status = TransactionStatus.idle
    public var transactionStarted: NIODeadline?

    public init() {}

    /// Called with every batch the linked server delivers.
    public mutating func delivered(answered: Int, status: TransactionStatus, now: NIODeadline) {
        self.answered = answered
        if status != .idle && self.status == .idle { transactionStarted = now }
        if status == .idle { transactionStarted = nil }
        self.status = status
    }
}
