// A snapshot of one client or server connection, taken on its own loop, for SHOW CLIENTS/SERVERS/POOLS/LISTS.
import AdminConsole
import Foundation
import NIOCore
import NIOSSL
import PoolCore

/// Helpers for the snapshots below.
enum ConnectionInfo {
    static func wallClock(_ t: NIODeadline) -> Date {
        Date(timeIntervalSinceNow: -Double((NIODeadline.now() - t).nanoseconds) / 1e9)
    }

    /// PgBouncer prints protocol/cipher; swift-nio-ssl tells the protocol only, in PostgreSQL's spelling (pg_stat_ssl).
    static func tlsText(_ channel: Channel?) -> String {
        guard let channel else { return "" }
        var version: TLSVersion?
        if let h = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) { version = h.tlsVersion }
        if version == nil, let h = try? channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self) { version = h.tlsVersion }
        switch version {
        case .tlsv1?: return "TLSv1"
        case .tlsv11?: return "TLSv1.1"
        case .tlsv12?: return "TLSv1.2"
        case .tlsv13?: return "TLSv1.3"
        case nil: return ""
        }
    }
}

extension ClientConnection {
    /// The SHOW CLIENTS state, the pool and how long the client has waited for a server: all the metrics need.
    func poolState() -> (state: ConnectionState, pool: PoolKey?, wait: Double) {
        switch state {
        case .linked(let link): (.active, link.pool.key, 0)
        case .pooled(let p):
            switch session.phase {
            case .unlinked: (.idle, p.key, 0)
            case .settling, .linked: (.active, p.key, 0)
            case .waiting: (welcomed ? .waiting : .login, p.key, Double((NIODeadline.now() - session.clock.waitStarted).nanoseconds) / 1e9)
            }
        case .admin: (.idle, nil, 0)
        case .startup, .authenticating, .lookingUp: (.login, nil, 0)
        case .closed: (.closed, nil, 0)
        }
    }

    func info() -> AdminConnection {
        let (state, pool, wait) = poolState()
        let channel = context?.channel
        return AdminConnection(
            isClient: true, id: waiterID, user: startup.user, database: startup.database, state: state,
            remote: channel?.remoteAddress, local: channel?.localAddress, connectedAt: startup.connectedAt,
            requestAt: ConnectionInfo.wallClock(session.clock.lastRequest), waitSeconds: wait, link: linkedServer?.id, remotePID: 0,
            tls: ConnectionInfo.tlsText(channel), applicationName: startup.parametersToApply["application_name"] ?? "",
            preparedStatements: session.rewriter.statements.count, pool: pool, poolMode: session.mode.rawValue,
            pinned: session.pinReasons.joined(separator: ", "))
    }
}

extension ServerConnection {
    /// The SHOW SERVERS state.
    var shownState: ConnectionState {
        switch state {
        case .linked: .active
        case .idle: afterCancels.isEmpty ? .idle : .beingCanceled
        case .internalQuery: .tested
        case .connecting, .tlsRequested, .login: .new
        case .closed: .closed
        }
    }

    func info() -> AdminConnection {
        let channel = context?.channel
        return AdminConnection(
            isClient: false, id: id, user: target.user, database: pool?.key.database ?? target.database, state: shownState,
            remote: channel?.remoteAddress, local: channel?.localAddress, connectedAt: connectedAt,
            requestAt: ConnectionInfo.wallClock(lastUsed), waitSeconds: 0, link: linkedClientID, remotePID: Int(backendPID),
            tls: ConnectionInfo.tlsText(channel), applicationName: linkedApplicationName, preparedStatements: statementCount,
            pool: pool?.key, poolMode: "", closeNeeded: closeNeeded, cancelInFlight: cancelsInFlight > 0)
    }
}
