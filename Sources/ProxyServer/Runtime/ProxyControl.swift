// What the admin console may ask of the running process (RELOAD, SHUTDOWN); the Proxy service provides it.

enum ShutdownMode: Sendable {
    /// Exit at once (PgBouncer's plain SHUTDOWN).
    case immediate
    /// Stop taking connections and exit once clients are gone (up to shutdown_timeout).
    case waitForClients
    /// The same, pausing first so servers are given back and not leased again.
    case waitForServers
}

struct ProxyControl: Sendable {
    /// Rereads the config; false if it was invalid (the old one stays, the log says why).
    var reload: @Sendable () -> Bool
    var shutdown: @Sendable (ShutdownMode) -> Void
}
