// A connection in Redis subscribe mode: messages go to a handler, and a lost connection is reported once.
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

public final class RedisSubscription: Sendable {
    /// Called on the connection's event loop with the channel the message was published to and its payload.
    public typealias MessageHandler = @Sendable (_ channel: String, _ payload: ByteBuffer) -> Void
    /// Called once, on the event loop, when the connection ends without `close()`: whoever keeps state in step with
    /// the messages (a cache listening for invalidations) must assume it missed some.
    public typealias LostHandler = @Sendable (_ error: RedisClientError) -> Void

    public let endpoint: RedisEndpoint
    private let channel: Channel
    private let closing = NIOLockedValueBox(false)

    public var eventLoop: EventLoop { channel.eventLoop }
    public var isActive: Bool { channel.isActive }

    private init(endpoint: RedisEndpoint, channel: Channel) {
        self.endpoint = endpoint
        self.channel = channel
    }

    /// With a `healthCheckInterval`, a PING is sent that often and must be answered within the same interval:
    /// a server that stops answering without closing the TCP connection is then reported lost too.
    public static func connect(
        to endpoint: RedisEndpoint, on eventLoop: EventLoop, timeout: TimeAmount = .seconds(5),
        healthCheckInterval: TimeAmount? = nil,
        onMessage: @escaping MessageHandler, onConnectionLost: @escaping LostHandler
    ) -> EventLoopFuture<RedisSubscription> {
        let push: @Sendable (RedisValue) -> Bool = { reply in
            guard let (channel, payload) = message(in: reply) else { return false }
            onMessage(channel, payload)
            return true
        }
        return RedisChannelSetup.open(endpoint, on: eventLoop, timeout: timeout, push: push).map { channel in
            let subscription = RedisSubscription(endpoint: endpoint, channel: channel)
            let lost = RedisClientError(.connectionClosed, "the subscription connection to \(endpoint) was lost; messages may have been missed")
            channel.closeFuture.whenComplete { _ in
                if !subscription.closing.withLockedValue({ $0 }) { onConnectionLost(lost) }
            }
            if let interval = healthCheckInterval { subscription.startHealthCheck(every: interval) }
            return subscription
        }
    }

    /// Completes when the server has confirmed every channel.
    public func subscribe(channels: [String]) -> EventLoopFuture<Void> {
        command("SUBSCRIBE", channels)
    }

    /// Glob patterns (`cache:*`); matching messages reach the handler with the channel they were published to.
    public func psubscribe(patterns: [String]) -> EventLoopFuture<Void> {
        command("PSUBSCRIBE", patterns)
    }

    public func unsubscribe(channels: [String]) -> EventLoopFuture<Void> {
        command("UNSUBSCRIBE", channels)
    }

    /// Closes without calling the lost-connection handler.
    public func close() -> EventLoopFuture<Void> {
        closing.withLockedValue { $0 = true }
        return channel.close().recover { _ in }
    }

    private func command(_ name: String, _ names: [String]) -> EventLoopFuture<Void> {
        guard !names.isEmpty else { return channel.eventLoop.makeSucceededVoidFuture() }
        let arguments = [ByteBuffer(string: name)] + names.map { ByteBuffer(string: $0) }
        let endpoint = self.endpoint
        return RedisChannelSetup.send(arguments, on: channel, replies: names.count, deadline: nil).flatMapThrowing { reply in
            if let message = reply.errorMessage {
                throw RedisClientError(.handshakeFailed, "\(name) was refused by \(endpoint): \(message)")
            }
        }
    }

    private func startHealthCheck(every interval: TimeAmount) {
        let channel = self.channel
        let task = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            // The handler closes the connection when the deadline passes; the reply itself does not matter.
            _ = RedisChannelSetup.send([ByteBuffer(string: "PING")], on: channel, deadline: .now() + interval)
        }
        channel.closeFuture.whenComplete { _ in task.cancel() }
    }

    /// `message channel payload` or `pmessage pattern channel payload`; anything else answers a command.
    static func message(in reply: RedisValue) -> (String, ByteBuffer)? {
        guard case .array(let items?) = reply, let kind = items.first?.string else { return nil }
        switch (kind.lowercased(), items.count) {
        case ("message", 3):
            guard let channel = items[1].string, let payload = items[2].bytes else { return nil }
            return (channel, payload)
        case ("pmessage", 4):
            guard let channel = items[2].string, let payload = items[3].bytes else { return nil }
            return (channel, payload)
        default:
            return nil
        }
    }
}
