// The result cache's Memcached (L3): one store for the process (libmemcached on its own threads), and per loop a
// breaker and counts, loop-confined like the Redis tier's.
import MemcachedClient
import NIOCore
import NIOPosix
import PGWire
import ResultCache

final class MemcachedCache: Sendable {
    let store: MemcachedStore
    let tiers: [MemcachedTier]
    private let pool: NIOThreadPool

    /// `timeout`: cache_tier_timeout, also libmemcached's own (a stopped server must not hold a thread for long).
    init(servers: MemcachedServers, loops: [EventLoop], timeout: TimeAmount) throws(MemcachedError) {
        // Two threads: a lookup takes well under a millisecond, and a breaker keeps a failing server from piling work up.
        pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let ms = max(1, Int(timeout.nanoseconds / 1_000_000))
        store = try MemcachedStore(servers: servers, threadPool: pool, timeoutMilliseconds: ms)
        tiers = loops.map { MemcachedTier(loop: $0, timeout: timeout) }
    }

    static func key(_ key: CacheKey) -> String { "pgswift:" + CryptoPrimitives.hex(CryptoPrimitives.sha256(key.material)) }

    func get(loop: Int, _ key: CacheKey, now: Double) -> EventLoopFuture<ByteBuffer?>? {
        let tier = tiers[loop]
        let started = NIODeadline.now()
        return tier.guarded(now: now) { self.store.get(Self.key(key), on: tier.loop) }?.map { value in
            tier.lookupNanos.add(NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds)
            guard let value, let answer = TierEntry.decode(value, material: key.material) else {
                tier.misses += 1
                return nil
            }
            tier.hits += 1
            return answer
        }
    }

    func put(loop: Int, _ key: CacheKey, answer: ByteBuffer, ttl: Double, now: Double) {
        let tier = tiers[loop]
        let value = TierEntry.encode(material: key.material, answer: answer)
        tier.guarded(now: now) { self.store.set(Self.key(key), value: value, ttlSeconds: max(1, Int(ttl.rounded(.up))), on: tier.loop) }?
            .whenSuccess { tier.stored += 1 }
    }

    func stop() {
        pool.shutdownGracefully { _ in }
    }
}

/// One loop's use of Memcached: breaker and counts (loop-confined).
final class MemcachedTier: @unchecked Sendable {
    let loop: EventLoop
    let timeout: TimeAmount
    private(set) var breaker = TierBreaker()
    var hits = 0, misses = 0, errors = 0, stored = 0
    var lookupNanos = LatencyRing()

    init(loop: EventLoop, timeout: TimeAmount) {
        self.loop = loop
        self.timeout = timeout
    }

    /// Runs `operation` unless the breaker keeps the tier out; its future fails after `timeout` whatever the server does.
    func guarded<T: Sendable>(now: Double, _ operation: () -> EventLoopFuture<T>) -> EventLoopFuture<T>? {
        guard breaker.allow(now: now) else { return nil }
        let promise = loop.makePromise(of: T.self)
        let deadline = loop.scheduleTask(in: timeout) { promise.fail(MemcachedError(.server, "no answer within cache_tier_timeout")) }
        operation().whenComplete { result in
            deadline.cancel()
            promise.completeWith(result)
        }
        return promise.futureResult.map { value in
            self.breaker.succeeded()
            return value
        }.flatMapErrorThrowing { error in
            self.errors += 1
            self.breaker.failed(now: ProxyRuntime.seconds(.now()))
            throw error
        }
    }
}
