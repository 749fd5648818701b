// One pipelined connection to a Redis server: commands are written as they come and replies matched in order.
import NIOCore
import NIOPosix

public final class RedisConnection: Sendable {
    public let endpoint: RedisEndpoint
    let channel: Channel
    private let replyTimeout: TimeAmount?

    public var eventLoop: EventLoop { channel.eventLoop }
    public var isActive: Bool { channel.isActive }
    /// Completes when the connection has closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    private init(endpoint: RedisEndpoint, channel: Channel, replyTimeout: TimeAmount?) {
        self.endpoint = endpoint
        self.channel = channel
        self.replyTimeout = replyTimeout
    }

    /// Connects, then sends AUTH and SELECT when the endpoint has a password or a database; `timeout` bounds all of it.
    /// With a `replyTimeout`, a command left unanswered that long closes the connection (failing every waiting
    /// command): a stalled server costs the caller a bounded wait, never a hang.
    public static func connect(
        to endpoint: RedisEndpoint, on eventLoop: EventLoop, timeout: TimeAmount = .seconds(5), replyTimeout: TimeAmount? = nil
    ) -> EventLoopFuture<RedisConnection> {
        RedisChannelSetup.open(endpoint, on: eventLoop, timeout: timeout).map { channel in
            RedisConnection(endpoint: endpoint, channel: channel, replyTimeout: replyTimeout)
        }
    }

    /// Sends one command. A Redis error reply is a `.error` value, not a failure; the future fails only when the
    /// connection is lost, times out or receives something that is not RESP.
    public func send(_ arguments: [ByteBuffer]) -> EventLoopFuture<RedisValue> {
        RedisChannelSetup.send(arguments, on: channel, deadline: replyTimeout.map { .now() + $0 })
    }

    public func send(_ arguments: String...) -> EventLoopFuture<RedisValue> {
        send(arguments.map { ByteBuffer(string: $0) })
    }

    public func close() -> EventLoopFuture<Void> {
        channel.close().recover { _ in }
    }
}

// The cache's commands. They keep the reply as a RedisValue so that error replies (MOVED, WRONGTYPE, OOM) reach
// the caller the same way as from `send`.
extension RedisConnection {
    /// A bulk string, or `.bulk(nil)` when the key is absent.
    public func get(_ key: String) -> EventLoopFuture<RedisValue> {
        send([ByteBuffer(string: "GET"), ByteBuffer(string: key)])
    }

    /// `SET key value [PX ttl]`; `+OK` on success.
    public func set(key: String, value: ByteBuffer, ttlMilliseconds: Int64? = nil) -> EventLoopFuture<RedisValue> {
        var arguments = [ByteBuffer(string: "SET"), ByteBuffer(string: key), value]
        if let ttlMilliseconds {
            arguments += [ByteBuffer(string: "PX"), ByteBuffer(string: String(ttlMilliseconds))]
        }
        return send(arguments)
    }

    /// The number of keys removed.
    public func del(_ keys: [String]) -> EventLoopFuture<RedisValue> {
        send([ByteBuffer(string: "DEL")] + keys.map { ByteBuffer(string: $0) })
    }

    public func del(_ key: String) -> EventLoopFuture<RedisValue> {
        del([key])
    }

    /// The value after the increment.
    public func incr(_ key: String) -> EventLoopFuture<RedisValue> {
        send([ByteBuffer(string: "INCR"), ByteBuffer(string: key)])
    }

    /// The number of subscribers that received the message.
    public func publish(channel: String, message: ByteBuffer) -> EventLoopFuture<RedisValue> {
        send([ByteBuffer(string: "PUBLISH"), ByteBuffer(string: channel), message])
    }
}
