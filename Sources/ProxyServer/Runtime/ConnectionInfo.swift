// A snapshot of one client or server connection, taken on its own loop, for SHOW CLIENTS/SERVERS/POOLS/LISTS.
import Foundation
import NIOCore
import NIOSSL
import PoolCore

struct ConnectionInfo: Sendable {
    var isClient: Bool
    var id: Int
    var user: String
    var database: String
    var state: ConnectionState
    var remote: SocketAddress?
    var local: SocketAddress?
    var connectedAt: Date
    var requestAt: Date
    var waitSeconds: Double
    var link: Int?
    var remotePID: Int
    var tls: String
    var applicationName: String
    var preparedStatements: Int
    var pool: PoolKey?
    var poolMode: String
    var closeNeeded = false
    var pinned = ""
    /// A server with a cancel request on its way (SHOW POOLS sv_active_cancel / sv_being_canceled).
    var cancelInFlight = false

    /// The `ptr`/`link` columns: an opaque handle that pairs a client row with its server row.
    static func handle(_ id: Int) -> String { "0x" + String(id, radix: 16) }

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

    func info() -> ConnectionInfo {
        let (state, pool, wait) = poolState()
        let channel = context?.channel
        return ConnectionInfo(
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

    func info() -> ConnectionInfo {
        let channel = context?.channel
        return ConnectionInfo(
            isClient: false, id: id, user: target.user, database: pool?.key.database ?? target.database, state: shownState,
            remote: channel?.remoteAddress, local: channel?.localAddress, connectedAt: connectedAt,
            requestAt: ConnectionInfo.wallClock(lastUsed), waitSeconds: 0, link: linkedClientID, remotePID: Int(backendPID),
            tls: ConnectionInfo.tlsText(channel), applicationName: linkedApplicationName, preparedStatements: statementCount,
            pool: pool?.key, poolMode: "", closeNeeded: closeNeeded, cancelInFlight: cancelsInFlight > 0)
    }
}
