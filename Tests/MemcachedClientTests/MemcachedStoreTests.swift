// MemcachedStore against real memcached servers: round trips, key distribution, and stopped or absent servers.
import LocalServers
import MemcachedClient
import NIOCore
import NIOPosix
import Testing

extension LocalServer {
    /// Tests run as root, and memcached refuses root unless told which user to stay.
    static func withMemcached<Result>(_ body: (LocalServer) async throws -> Result) async throws -> Result {
        try await with("memcached", package: "memcached", arguments: { port in
            ["-u", "root", "-l", "127.0.0.1", "-p", "\(port)", "-U", "0"]
        }, body)
    }
}

@Suite("Memcached store (real memcached)")
struct MemcachedStoreTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    private func store(_ servers: [LocalServer], timeoutMilliseconds: Int = 50) throws -> MemcachedStore {
        let list = try MemcachedServers(servers.map { MemcachedServers.Server(host: "127.0.0.1", port: $0.port) })
        return try MemcachedStore(servers: list, threadPool: .singleton, timeoutMilliseconds: timeoutMilliseconds)
    }

    @Test func binaryValuesRoundTrip() async throws {
        try await LocalServer.withMemcached { server in
            let store = try store([server])
            let tricky = ByteBuffer(bytes: [0, 13, 10, 255, 0x45, 0x4E, 0x44, 13, 10, 0])
            var large = ByteBuffer()
            for index in 0..<300_000 { large.writeInteger(UInt8(truncatingIfNeeded: index &* 131 &+ index >> 9)) }

            #expect(try await within(store.get("absent", on: loop)) == nil)
            try await within(store.set("tricky", value: tricky, ttlSeconds: 60, on: loop))
            try await within(store.set("large", value: large, ttlSeconds: 0, on: loop))
            try await within(store.set("empty", value: ByteBuffer(), ttlSeconds: 40 * 24 * 3600, on: loop))
            #expect(try await within(store.get("tricky", on: loop)) == tricky)
            #expect(try await within(store.get("large", on: loop)) == large)
            #expect(try await within(store.get("empty", on: loop)) == ByteBuffer())
            #expect(try await within(store.delete("tricky", on: loop)) == true)
            #expect(try await within(store.delete("tricky", on: loop)) == false)
            #expect(try await within(store.get("tricky", on: loop)) == nil)
            try await within(store.flushAll(on: loop))
            #expect(try await within(store.get("large", on: loop)) == nil)
        }
    }

    @Test func manyCallsAtOnceEachGetAHandle() async throws {
        try await LocalServer.withMemcached { server in
            let store = try store([server])
            let writes = (0..<200).map { store.set("key\($0)", value: ByteBuffer(string: "value \($0)"), ttlSeconds: 60, on: loop) }
            _ = try await within(EventLoopFuture.whenAllSucceed(writes, on: loop))
            let reads = try await within(EventLoopFuture.whenAllSucceed((0..<200).map { store.get("key\($0)", on: loop) }, on: loop))
            #expect(reads == (0..<200).map { ByteBuffer(string: "value \($0)") })
        }
    }

    @Test func keysAreSpreadOverEveryServer() async throws {
        try await LocalServer.withMemcached { first in
            try await LocalServer.withMemcached { second in
                let both = try store([first, second])
                for index in 0..<200 { try await within(both.set("spread\(index)", value: ByteBuffer(string: "\(index)"), ttlSeconds: 60, on: loop)) }
                var found: [Int] = []
                for server in [first, second] {
                    let alone = try store([server])
                    var hits = 0
                    for index in 0..<200 where try await within(alone.get("spread\(index)", on: loop)) != nil { hits += 1 }
                    found.append(hits)
                }
                #expect(found.reduce(0, +) == 200, "\(found)")
                #expect(found.allSatisfy { $0 > 40 }, "ketama gave \(found)")
                for index in 0..<200 { #expect(try await within(both.get("spread\(index)", on: loop)) == ByteBuffer(string: "\(index)")) }
            }
        }
    }

    @Test func expiredValuesAreGone() async throws {
        try await LocalServer.withMemcached { server in
            let store = try store([server])
            try await within(store.set("short", value: ByteBuffer(string: "v"), ttlSeconds: 1, on: loop))
            #expect(try await within(store.get("short", on: loop)) != nil)
            try await Task.sleep(for: .milliseconds(2100))
            #expect(try await within(store.get("short", on: loop)) == nil)
            await #expect { try await store.set("k", value: ByteBuffer(), ttlSeconds: -1, on: loop).get() } throws: {
                ($0 as? MemcachedError)?.kind == .invalidValue
            }
        }
    }

    @Test func aStoppedServerFailsWithinItsTimeout() async throws {
        try await LocalServer.withMemcached { server in
            let store = try store([server], timeoutMilliseconds: 50)
            try await within(store.set("k", value: ByteBuffer(string: "v"), ttlSeconds: 60, on: loop))
            server.pause()
            defer { server.resume() }
            for _ in 0..<3 {
                await #expect { _ = try await within(store.get("k", on: loop)) } throws: { ($0 as? MemcachedError)?.kind == .server }
            }
        }
    }

    @Test func noServerListeningFailsQuickly() async throws {
        let port = try await LocalServer.freePort()
        let store = try MemcachedStore(servers: MemcachedServers(parsing: "127.0.0.1:\(port)"), threadPool: .singleton, timeoutMilliseconds: 50)
        await #expect { _ = try await within(store.get("k", on: loop)) } throws: { error in
            guard let error = error as? MemcachedError else { return false }
            return error.kind == .server && !error.message.isEmpty
        }
    }
}
