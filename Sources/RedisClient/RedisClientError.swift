// The errors of the Redis client: values with a message a person can act on.
public struct RedisClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The address or URL could not be used.
        case invalidEndpoint
        /// The TCP connection could not be made (refused, unreachable, timed out).
        case connectFailed
        /// The connection closed (or was never open) before the reply arrived.
        case connectionClosed
        /// The server sent bytes that are not RESP; the connection is closed after this.
        case protocolError
        /// AUTH or SELECT, sent because the URL asked for them, was refused.
        case handshakeFailed
        /// No reply within the connection's reply timeout; the connection is closed after this.
        case timeout
        /// Cluster routing gave up (too many redirections, no node for a slot, a malformed CLUSTER SLOTS reply).
        case cluster
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "Redis: \(message)" }
}
