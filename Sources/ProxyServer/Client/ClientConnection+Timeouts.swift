// The client-side timeouts, swept once a second on each loop: ClientClock decides, this closes the client.
import Config
import NIOCore
import PGWire
import SessionCore

extension ClientTimeoutLimits {
    init(_ s: RuntimeSettings) {
        self.init(query: s.queryTimeout, idleTransaction: s.idleTransactionTimeout, transaction: s.transactionTimeout,
                  clientIdle: s.clientIdleTimeout)
    }
}

extension ClientConnection {
    func checkTimeouts(_ limits: ClientTimeoutLimits, now: NIODeadline) {
        eventLoop.assertInEventLoop()
        switch state {
        case .linked, .pooled, .admin:
            if let expired = session.expired(limits, now: now) { run(.timedOut(expired)) }
        case .startup, .authenticating, .lookingUp, .closed:
            return
        }
    }
}

extension ClientConnection {
    /// Closes the client for one of the timeouts, counted under the setting's name (for /metrics and the advice).
    func timedOut(_ limit: ClientTimeout) {
        if case .closed = state { return }
        runtime.connections(on: eventLoop).timeouts[DatabaseCode(database: errorLabel, code: limit.setting), default: 0] += 1
        sendFatal(PGError(SQLState.protocolViolation, limit.message, severity: Severity.fatal))
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
