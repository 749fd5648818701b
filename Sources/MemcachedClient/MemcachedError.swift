// The errors of the Memcached client: values with a message a person can act on.
public struct MemcachedError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The server list could not be used.
        case invalidServers
        /// The key is empty, longer than 250 bytes, or has a space or control character.
        case invalidKey
        /// The TTL is negative.
        case invalidValue
        /// libmemcached reported a failure: a timeout, a refused connection, a server error.
        case server
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "Memcached: \(message)" }
}
