// One client or server connection as SHOW CLIENTS/SERVERS/POOLS/LISTS see it, taken on the connection's own loop.
import Foundation
import NIOCore
import PoolCore

public struct AdminConnection: Sendable {
    public var isClient: Bool
    public var id: Int
    public var user: String
    public var database: String
    public var state: ConnectionState
    /// nil for a Unix socket peer.
    public var remote: SocketAddress?
    public var local: SocketAddress?
    public var connectedAt: Date
    public var requestAt: Date
    /// How long a client has waited for a server.
    public var waitSeconds: Double
    /// The id of the linked server (for a client) or client (for a server).
    public var link: Int?
    public var remotePID: Int
    public var tls: String
    public var applicationName: String
    public var preparedStatements: Int
    /// The pool it belongs to; nil while logging in, and for the console's sessions.
    public var pool: PoolKey?
    public var poolMode: String
    public var closeNeeded: Bool
    /// Why a client is pinned to its server, comma-separated; empty when it is not.
    public var pinned: String
    /// A server with a cancel request on its way (SHOW POOLS sv_active_cancel / sv_being_canceled).
    public var cancelInFlight: Bool

    public init(isClient: Bool, id: Int, user: String, database: String, state: ConnectionState,
                remote: SocketAddress? = nil, local: SocketAddress? = nil,
                connectedAt: Date = Date(timeIntervalSince1970: 0), requestAt: Date = Date(timeIntervalSince1970: 0),
                waitSeconds: Double = 0, link: Int? = nil, remotePID: Int = 0, tls: String = "", applicationName: String = "",
                preparedStatements: Int = 0, pool: PoolKey? = nil, poolMode: String = "", closeNeeded: Bool = false,
                pinned: String = "", cancelInFlight: Bool = false) {
        self.isClient = isClient
        self.id = id
        self.user = user
        self.database = database
        self.state = state
        self.remote = remote
        self.local = local
        self.connectedAt = connectedAt
        self.requestAt = requestAt
        self.waitSeconds = waitSeconds
        self.link = link
        self.remotePID = remotePID
        self.tls = tls
        self.applicationName = applicationName
        self.preparedStatements = preparedStatements
        self.pool = pool
        self.poolMode = poolMode
        self.closeNeeded = closeNeeded
        self.pinned = pinned
        self.cancelInFlight = cancelInFlight
    }

    /// The `ptr`/`link` columns: an opaque handle that pairs a client row with its server row.
    public static func handle(_ id: Int) -> String { "0x" + String(id, radix: 16) }
}
