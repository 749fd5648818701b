// The client and server connections living on one event loop, so the admin console can list them without a global lock.

/// Loop-confined: read and changed only on its own event loop (the admin console hops there to read it).
final class LoopConnections: @unchecked Sendable {
    var clients: [Int: ClientConnection] = [:]
    var servers: [Int: ServerConnection] = [:]
}
