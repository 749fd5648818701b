// How pgswift reaches PostgreSQL: one new channel towards a server, on the loop pgswift chose (sockets in production;
// the handler tests put in-memory channels here, so the real handlers run without TCP).
import NIOCore
import NIOPosix

/// A connection pgswift opens towards a server.
struct Dial: Sendable {
    enum Purpose: Sendable {
        /// A server connection (ServerConnection logs in and relays on it).
        case session
        /// A CancelRequest: one packet, then waiting for PostgreSQL to close.
        case cancel
        /// A health check or a promotion (NodeSQLConnection): login, a few queries, goodbye.
        case healthCheck
    }

    var host: String
    var port: Int
    var connectTimeout: TimeAmount
    var purpose: Purpose
}

struct ServerDialer: Sendable {
    /// Opens the channel on `loop`; `initialize` (the handler) runs before it becomes active.
    let open: @Sendable (Dial, EventLoop, (@Sendable (Channel) -> EventLoopFuture<Void>)?) -> EventLoopFuture<Channel>

    /// TCP, or the Unix socket when the host is a directory (as libpq reads it).
    static let sockets = ServerDialer { dial, loop, initialize in
        var bootstrap = ClientBootstrap(group: loop).connectTimeout(dial.connectTimeout)
        // A session's many small round trips must not wait for Nagle; a cancel's single packet never did.
        if dial.purpose == .session { bootstrap = bootstrap.channelOption(.tcpOption(.tcp_nodelay), value: 1) }
        if let initialize { bootstrap = bootstrap.channelInitializer(initialize) }
        return dial.host.hasPrefix("/")
            ? bootstrap.connect(unixDomainSocketPath: "\(dial.host)/.s.PGSQL.\(dial.port)")
            : bootstrap.connect(host: dial.host, port: dial.port)
    }
}
