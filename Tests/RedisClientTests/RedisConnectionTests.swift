// RedisConnection against a real redis-server: round trips, pipelining, error replies, login, and failures.
import LocalServers
import NIOCore
import NIOPosix
import RedisClient
import Testing

extension LocalServer {
    static func withRedis<Result>(_ extra: [String] = [], _ body: (LocalServer) async throws -> Result) async throws -> Result {
        try await with("redis-server", package: "redis-server", arguments: { redisArguments(port: $0) + extra }, body)
    }

    static func redisArguments(port: Int) -> [String] {
        ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    }

    var redis: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }
}

@Suite("Redis connection (real redis-server)")
struct RedisConnectionTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    @Test func binaryValuesRoundTrip() async throws {
        try await LocalServer.withRedis { server in
            let redis = try await within(RedisConnection.connect(to: server.redis, on: loop))
            defer { _ = redis.close() }
            let tricky = ByteBuffer(bytes: [0, 13, 10, 255, 36, 42, 13, 10, 0])
            var large = ByteBuffer()
            for index in 0..<200_000 { large.writeInteger(UInt8(truncatingIfNeeded: index &* 31 &+ index >> 7)) }

            #expect(try await within(redis.set(key: "k:tricky", value: tricky)) == .simpleString("OK"))
            #expect(try await within(redis.set(key: "k:large", value: large, ttlMilliseconds: 60_000)) == .simpleString("OK"))
            #expect(try await within(redis.get("k:tricky")) == .bulk(tricky))
            #expect(try await within(redis.get("k:large")) == .bulk(large))
            let ttl = try await within(redis.send("PTTL", "k:large")).integer ?? -1
            #expect(ttl > 50_000 && ttl <= 60_000)
            #expect(try await within(redis.del(["k:tricky", "k:large", "k:absent"])) == .integer(2))
            #expect(try await within(redis.get("k:tricky")) == .bulk(nil))
            #expect(try await within(redis.incr("k:n")) == .integer(1))
            #expect(try await within(redis.publish(channel: "nobody", message: tricky)) == .integer(0))
        }
    }

    @Test func errorRepliesAreValuesAndTheConnectionGoesOn() async throws {
        try await LocalServer.withRedis { server in
            let redis = try await within(RedisConnection.connect(to: server.redis, on: loop))
            defer { _ = redis.close() }
            _ = try await within(redis.set(key: "text", value: ByteBuffer(string: "abc")))
            let reply = try await within(redis.incr("text"))
            #expect(reply.errorMessage?.hasPrefix("ERR") == true, "\(reply)")
            #expect(try await within(redis.send("NOSUCHCOMMAND")).errorMessage?.contains("unknown command") == true)
            #expect(try await within(redis.send("PING")) == .simpleString("PONG"))
            #expect(redis.isActive)
        }
    }

    @Test func athousandPipelinedCommandsAnsweredInOrder() async throws {
        try await LocalServer.withRedis { server in
            let redis = try await within(RedisConnection.connect(to: server.redis, on: loop))
            defer { _ = redis.close() }
            // All written before the first reply is read; order is checked through INCR's running count.
            let replies = (0..<1000).map { index in
                index % 2 == 0 ? redis.incr("counter") : redis.set(key: "k\(index)", value: ByteBuffer(string: "\(index)"))
            }
            let values = try await within(EventLoopFuture.whenAllSucceed(replies, on: loop))
            for (index, value) in values.enumerated() {
                #expect(value == (index % 2 == 0 ? .integer(Int64(index / 2 + 1)) : .simpleString("OK")), "reply \(index)")
            }
            #expect(try await within(redis.get("k999")).string == "999")
        }
    }

    @Test func urlLoginAndDatabase() async throws {
        try await LocalServer.withRedis(["--requirepass", "s3cret"]) { server in
            let url = "redis://:s3cret@127.0.0.1:\(server.port)/3"
            let redis = try await within(RedisConnection.connect(to: try RedisEndpoint(parsing: url), on: loop))
            defer { _ = redis.close() }
            let info = try await within(redis.send("CLIENT", "INFO")).string ?? ""
            #expect(info.contains(" db=3 "), "\(info)")

            var wrong = server.redis
            wrong.password = "nope"
            await #expect {
                _ = try await within(RedisConnection.connect(to: wrong, on: loop))
            } throws: { ($0 as? RedisClientError)?.kind == .handshakeFailed }
        }
    }

    @Test func aLostConnectionFailsEveryWaitingCommand() async throws {
        try await LocalServer.withRedis { server in
            let redis = try await within(RedisConnection.connect(to: server.redis, on: loop))
            // Both block on the server until it dies.
            let waiting = [redis.send("BLPOP", "never", "0"), redis.send("BLPOP", "never", "0")]
            // A PING would queue behind the BLPOPs: give the server a moment to read them instead.
            try await Task.sleep(for: .milliseconds(100))
            server.stop()
            for future in waiting {
                await #expect { _ = try await within(future) } throws: { ($0 as? RedisClientError)?.kind == .connectionClosed }
            }
            await #expect { _ = try await within(redis.get("after")) } throws: { ($0 as? RedisClientError)?.kind == .connectionClosed }
            #expect(!redis.isActive)
        }
    }

    @Test func aStalledServerTimesOutInsteadOfHanging() async throws {
        try await LocalServer.withRedis { server in
            let redis = try await within(RedisConnection.connect(to: server.redis, on: loop, replyTimeout: .milliseconds(200)))
            server.pause()
            defer { server.resume() }
            await #expect { _ = try await within(redis.get("k")) } throws: { ($0 as? RedisClientError)?.kind == .timeout }
            _ = try await within(redis.closeFuture)
        }
    }

    @Test func connectionRefusedFailsQuickly() async throws {
        let port = try await LocalServer.freePort()
        await #expect {
            _ = try await within(RedisConnection.connect(to: RedisEndpoint(host: "127.0.0.1", port: port), on: loop))
        } throws: { ($0 as? RedisClientError)?.kind == .connectFailed }
    }

    @Test func garbageFromTheServerFailsTheCommandAndClosesTheConnection() async throws {
        let fake = try await ServerBootstrap(group: loop)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(GarbageServer()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { fake.close(promise: nil) }
        let port = try #require(fake.localAddress?.port)
        let redis = try await within(RedisConnection.connect(to: RedisEndpoint(host: "127.0.0.1", port: port), on: loop))
        await #expect { _ = try await within(redis.get("k")) } throws: { ($0 as? RedisClientError)?.kind == .protocolError }
        _ = try await within(redis.closeFuture)
        #expect(!redis.isActive)
    }
}

/// Answers anything with bytes that are not RESP.
private final class GarbageServer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "!garbage\r\n")), promise: nil)
    }
}
