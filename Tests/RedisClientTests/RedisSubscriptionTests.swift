// RedisSubscription against a real redis-server: message delivery, and the callback when the server goes away.
import LocalServers
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RedisClient
import Testing

@Suite("Redis subscription (real redis-server)")
struct RedisSubscriptionTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    /// Collects messages and completes once `expected` have arrived.
    private final class Inbox: Sendable {
        let messages = NIOLockedValueBox<[(String, ByteBuffer)]>([])
        let complete: EventLoopPromise<Void>
        let expected: Int

        init(expected: Int, on loop: EventLoop) {
            self.expected = expected
            complete = loop.makePromise()
        }

        func receive(_ channel: String, _ payload: ByteBuffer) {
            let count = messages.withLockedValue { $0.append((channel, payload)); return $0.count }
            if count == expected { complete.succeed() }
        }
    }

    @Test func messagesArriveInOrderAndALostServerIsReportedOnce() async throws {
        try await LocalServer.withRedis { server in
            let inbox = Inbox(expected: 4, on: loop)
            let lost = loop.makePromise(of: RedisClientError.self)
            let lostCalls = NIOLockedValueBox(0)
            let subscription = try await within(RedisSubscription.connect(
                to: server.redis, on: loop,
                onMessage: { channel, payload in
                    #expect(self.loop.inEventLoop)
                    inbox.receive(channel, payload)
                },
                onConnectionLost: { error in
                    lostCalls.withLockedValue { $0 += 1 }
                    lost.succeed(error)
                }))
            try await within(subscription.subscribe(channels: ["invalidate", "other"]))
            try await within(subscription.psubscribe(patterns: ["table:*"]))

            let publisher = try await within(RedisConnection.connect(to: server.redis, on: loop))
            defer { _ = publisher.close() }
            let binary = ByteBuffer(bytes: [0, 13, 10, 0xFF])
            #expect(try await within(publisher.publish(channel: "invalidate", message: ByteBuffer(string: "k1"))) == .integer(1))
            _ = try await within(publisher.publish(channel: "other", message: binary))
            _ = try await within(publisher.publish(channel: "unheard", message: binary))
            _ = try await within(publisher.publish(channel: "table:orders", message: ByteBuffer(string: "v2")))
            _ = try await within(publisher.publish(channel: "invalidate", message: ByteBuffer(string: "k2")))
            try await within(inbox.complete.futureResult)
            let received = inbox.messages.withLockedValue { $0 }
            #expect(received.map(\.0) == ["invalidate", "other", "table:orders", "invalidate"])
            #expect(received.map(\.1) == [ByteBuffer(string: "k1"), binary, ByteBuffer(string: "v2"), ByteBuffer(string: "k2")])

            server.stop()
            let error = try await within(lost.futureResult)
            #expect(error.kind == .connectionClosed)
            try await Task.sleep(for: .milliseconds(100))
            #expect(lostCalls.withLockedValue { $0 } == 1)
            #expect(!subscription.isActive)
        }
    }

    @Test func closingOnPurposeIsNotALoss() async throws {
        try await LocalServer.withRedis { server in
            let lostCalls = NIOLockedValueBox(0)
            let subscription = try await within(RedisSubscription.connect(
                to: server.redis, on: loop, onMessage: { _, _ in }, onConnectionLost: { _ in lostCalls.withLockedValue { $0 += 1 } }))
            try await within(subscription.subscribe(channels: ["c"]))
            try await within(subscription.close())
            try await Task.sleep(for: .milliseconds(100))
            #expect(lostCalls.withLockedValue { $0 } == 0)
        }
    }

    @Test func aStalledServerIsReportedLostByTheHealthCheck() async throws {
        try await LocalServer.withRedis { server in
            let lost = loop.makePromise(of: RedisClientError.self)
            let subscription = try await within(RedisSubscription.connect(
                to: server.redis, on: loop, healthCheckInterval: .milliseconds(100),
                onMessage: { _, _ in }, onConnectionLost: { lost.succeed($0) }))
            try await within(subscription.subscribe(channels: ["c"]))
            server.pause()
            defer { server.resume() }
            _ = try await within(lost.futureResult, seconds: 5)
            #expect(!subscription.isActive)
        }
    }
}
