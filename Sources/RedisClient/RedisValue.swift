// A decoded RESP2 reply, as the Redis server sent it.
import NIOCore

public enum RedisValue: Sendable, Hashable {
    /// `+OK`: a status line.
    case simpleString(String)
    /// `-ERR ...`: a reply of Redis type error. It is a value, not a failed future: the connection is fine,
    /// and the caller (a cache, a cluster router reading MOVED) decides what it means.
    case error(String)
    case integer(Int64)
    /// `$-1` is `nil`.
    case bulk(ByteBuffer?)
    /// `*-1` is `nil` (an aborted EXEC, a timed-out BLPOP), distinct from an empty array.
    case array([RedisValue]?)
}

extension RedisValue {
    /// The text of a status line, or of a bulk string that is valid UTF-8.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulk(let buffer?): return String(validating: buffer.readableBytesView, as: UTF8.self)
        default: return nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal number (what GET returns after INCR).
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulk(let buffer?): return String(validating: buffer.readableBytesView, as: UTF8.self).flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The bytes of a bulk string; `nil` for a null bulk and for every other kind of reply.
    public var bytes: ByteBuffer? {
        if case .bulk(let buffer?) = self { return buffer }
        return nil
    }

    public var isNull: Bool {
        switch self {
        case .bulk(nil), .array(nil): return true
        default: return false
        }
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}
