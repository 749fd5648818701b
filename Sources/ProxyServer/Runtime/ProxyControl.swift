// What the admin console may ask of the running process (RELOAD, SHUTDOWN); the Proxy service provides it.
import AdminConsole

/// The console's SHUTDOWN modes are the process's: one type, named here for the files that do not import the console.
typealias ShutdownMode = AdminConsole.ShutdownMode

struct ProxyControl: Sendable {
    /// Rereads the config; false if it was invalid (the old one stays, the log says why).
    var reload: @Sendable () -> Bool
    var shutdown: @Sendable (ShutdownMode) -> Void
}
