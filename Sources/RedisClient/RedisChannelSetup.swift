// Opening a channel to a Redis server: TCP connect, the pipelining handler, then AUTH and SELECT if the endpoint asks.
import NIOCore
import NIOPosix

enum RedisChannelSetup {
    /// The whole setup, handshake included, must finish within `timeout`: a server that accepts but never answers
    /// must not leave the caller waiting.
    static func open(
        _ endpoint: RedisEndpoint, on eventLoop: EventLoop, timeout: TimeAmount,
        push: (@Sendable (RedisValue) -> Bool)? = nil
    ) -> EventLoopFuture<Channel> {
        let deadline = NIODeadline.now() + timeout
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            // TCP_NODELAY at the TCP level: at SOL_SOCKET its number is SO_DEBUG, which needs privileges.
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(push: push))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMapError { error in
                eventLoop.makeFailedFuture(RedisClientError(.connectFailed, "could not connect to \(endpoint): \(error)"))
            }
            .flatMap { channel in
                handshake(channel, endpoint: endpoint, deadline: deadline)
                    .map { channel }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        return eventLoop.makeFailedFuture(error)
                    }
            }
    }

    static func send(_ arguments: [ByteBuffer], on channel: Channel, replies: Int = 1, deadline: NIODeadline?) -> EventLoopFuture<RedisValue> {
        let promise = channel.eventLoop.makePromise(of: RedisValue.self)
        let command = RedisCommand(arguments: arguments, replies: replies, deadline: deadline, promise: promise)
        // A channel already torn down never reaches the handler, so the write's own failure must fail the reply too.
        channel.writeAndFlush(command).whenFailure { error in
            promise.fail(RedisClientError(.connectionClosed, "the command could not be sent: \(error)"))
        }
        return promise.futureResult
    }

    private static func handshake(_ channel: Channel, endpoint: RedisEndpoint, deadline: NIODeadline) -> EventLoopFuture<Void> {
        var steps: [(name: String, arguments: [ByteBuffer])] = []
        if let password = endpoint.password {
            let login = [endpoint.username, password].compactMap { $0 }
            steps.append(("AUTH", [ByteBuffer(string: "AUTH")] + login.map { ByteBuffer(string: $0) }))
        }
        if endpoint.database != 0 {
            steps.append(("SELECT", ["SELECT", String(endpoint.database)].map { ByteBuffer(string: $0) }))
        }
        // Pipelined: SELECT is refused anyway if AUTH was, and the first error is the one reported.
        let replies = steps.map { step in
            send(step.arguments, on: channel, deadline: deadline).flatMapThrowing { reply in
                if let message = reply.errorMessage {
                    throw RedisClientError(.handshakeFailed, "\(step.name) was refused by \(endpoint): \(message)")
                }
            }
        }
        return EventLoopFuture.andAllSucceed(replies, on: channel.eventLoop)
    }
}
