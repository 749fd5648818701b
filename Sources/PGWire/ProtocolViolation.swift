// The error raised when a peer sends bytes that do not form a valid protocol 3.0 message.

/// A malformed or unexpected message; the client sees SQLSTATE 08P01.
public struct ProtocolViolation: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
