// A connection's state as SHOW CLIENTS/SERVERS/POOLS and /metrics name it (PgBouncer's words, one type for both).

public enum ConnectionState: String, Sendable, Hashable {
    /// Clients: linked to a server (or being probed); servers: linked to a client.
    case active
    /// Clients: logged in, between transactions; servers: in the pool, free.
    case idle
    /// A client queued for a server.
    case waiting
    /// A client still logging in (or waiting for its first server, which its welcome needs).
    case login
    /// A server running pgswift's own query (server_check_query, the session probe, the reset).
    case tested
    /// A server logging in to PostgreSQL.
    case new
    /// A free server with a cancel request still on its way (kept out of the pool until it is done).
    case beingCanceled = "being_canceled"
    case closed

    /// The states /metrics reports for each side, in SHOW POOLS's order.
    public static let clientStates: [ConnectionState] = [.active, .idle, .waiting, .login]
    public static let serverStates: [ConnectionState] = [.active, .idle, .tested, .new, .beingCanceled]
}
