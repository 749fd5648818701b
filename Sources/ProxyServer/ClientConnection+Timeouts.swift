// The client-side timeouts checked once a second on each loop: query_timeout, idle_transaction_timeout,
// transaction_timeout and client_idle_timeout, with PgBouncer's meanings.
import Config
import NIOCore
import PGWire

/// The four limits, read from the config once per sweep.
struct ClientTimeouts: Sendable {
    var query: Double
    var idleTransaction: Double
    var transaction: Double
    var clientIdle: Double

    init(_ c: ProxyConfig) {
        query = c.seconds("query_timeout")
        idleTransaction = c.seconds("idle_transaction_timeout")
        transaction = c.seconds("transaction_timeout")
        clientIdle = c.seconds("client_idle_timeout")
    }

    var any: Bool { query > 0 || idleTransaction > 0 || transaction > 0 || clientIdle > 0 }
}

extension ClientConnection {
    /// Seconds from `t` to `now`.
    private func since(_ t: NIODeadline, _ now: NIODeadline) -> Double { Double((now - t).nanoseconds) / 1e9 }

    func checkTimeouts(_ limits: ClientTimeouts, now: NIODeadline) {
        switch state {
        case .linked:
            let waitingForAnswer = tracker.sent > answeredOnLink
            let quietFor = since(max(lastRequest, lastDelivered), now)
            if waitingForAnswer {
                if limits.query > 0, since(lastRequest, now) > limits.query {
                    // The running query is cancelled with the client's link, which is then closed: PgBouncer's way.
                    return timedOut("query_timeout", "query_timeout")
                }
            } else if serverStatus != .idle {
                if limits.idleTransaction > 0, quietFor > limits.idleTransaction {
                    return timedOut("idle_transaction_timeout", "idle transaction timeout")
                }
            } else if limits.clientIdle > 0, quietFor > limits.clientIdle {
                return timedOut("client_idle_timeout", "client_idle_timeout")
            }
            if limits.transaction > 0, serverStatus != .idle, let start = transactionStarted, since(start, now) > limits.transaction {
                return timedOut("transaction_timeout", "transaction timeout")
            }
        case .unlinked, .admin:
            if limits.clientIdle > 0, since(max(lastRequest, lastDelivered), now) > limits.clientIdle {
                timedOut("client_idle_timeout", "client_idle_timeout")
            }
        case .waiting:
            // A request queued for a server counts as a query too (PgBouncer's meaning).
            if limits.query > 0, since(waitStarted, now) > limits.query {
                timedOut("query_timeout", "query_timeout")
            }
        case .settling:
            // The session probe is a query too; a server that stops answering it must not hold the client forever.
            if limits.query > 0, since(lastDelivered, now) > limits.query {
                timedOut("query_timeout", "query_timeout")
            }
        case .startup, .authenticating, .lookingUp, .closed:
            break
        }
    }

    /// Called with every batch a server delivers: what the timeouts measure from.
    func noteDelivered(answered: Int, status: TransactionStatus) {
        lastDelivered = .now()
        answeredOnLink = answered
        if status != .idle && serverStatus == .idle { transactionStarted = lastDelivered }
        if status == .idle { transactionStarted = nil }
        serverStatus = status
    }
}

extension ClientConnection {
    /// Closes the client for one of the timeouts, counted under the setting's name (for /metrics and the advice).
    func timedOut(_ setting: String, _ message: String) {
        if case .closed = state { return }
        runtime.connections(on: eventLoop).timeouts[DatabaseCode(database: errorLabel, code: setting), default: 0] += 1
        sendFatal(PGError("08P01", message, severity: "FATAL"))
    }

    /// Counts an error pgswift itself sends (for /metrics).
    func countError(_ error: PGError) {
        runtime.connections(on: eventLoop).proxyErrors[DatabaseCode(database: errorLabel, code: error.sqlState), default: 0] += 1
    }

    /// The database an error or timeout is counted under. A name the client made up (an unknown database, a failed
    /// login) would be a new series per name: only databases of the config, or of a pool already made, are named.
    private var errorLabel: String {
        let asked = startup.database
        return statsKey?.database ?? (runtime.config.databases[asked] != nil || runtime.hasPool(database: asked) ? asked : "")
    }
}
