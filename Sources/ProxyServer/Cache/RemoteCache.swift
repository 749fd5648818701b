// The result cache's Redis, process-wide: one tier per loop (L2), the versions every instance shares, and the
// subscription through which other instances' writes reach this one's in-process tier.
import Logging
import NIOCore
import PGWire
import RedisClient
import ResultCache
import Synchronization

final class RemoteCache: Sendable {
    let endpoint: RedisEndpoint
    /// Names this process in the messages it publishes, so it can skip its own.
    let instance = CryptoPrimitives.hex(CryptoPrimitives.randomBytes(8))
    let tiers: [RedisTier]
    /// While the subscription is down, another instance's write could go unseen: the in-process tier is not used
    /// (neither read nor filled), and it is emptied when the subscription is back.
    let subscribed = Atomic<Bool>(false)
    private let subscription = Mutex<RedisSubscription?>(nil)
    private let stopped = Atomic<Bool>(false)
    /// Subscription attempts failed in a row.
    private let failures = Atomic<Int>(0)
    /// Messages received from other instances (SHOW CACHE, metrics).
    let received = Atomic<Int>(0)

    init(endpoint: RedisEndpoint, loops: [EventLoop], timeout: TimeAmount) {
        self.endpoint = endpoint
        tiers = loops.map { RedisTier(endpoint: endpoint, loop: $0, timeout: timeout) }
    }

    /// Global versions of `tables` in `scope` (with the scope's epoch first), read in one MGET: nil when Redis
    /// cannot tell now.
    func versions(loop: Int, scope: String, tables: [String], now: Double) -> EventLoopFuture<VersionStamp>? {
        var command = [RedisTier.bulk("MGET"), RedisTier.bulk(RedisCacheKeys.version(scope: scope, table: nil))]
        command += tables.map { RedisTier.bulk(RedisCacheKeys.version(scope: scope, table: $0)) }
        return tiers[loop].run([command], now: now)?.flatMapThrowing { values in
            guard case .array(let items?) = values.first, items.count == tables.count + 1 else {
                throw RedisClientError(.protocolError, "unexpected MGET answer")
            }
            let numbers = items.map { item -> UInt64 in
                guard let b = item.bytes, let s = b.getString(at: b.readerIndex, length: b.readableBytes) else { return 0 }
                return UInt64(s) ?? 0
            }
            return VersionStamp(epoch: numbers[0], versions: Array(numbers.dropFirst()))
        }
    }

    /// The stored answer for `key`, if any and if it was stored for exactly that key.
    func get(loop: Int, _ key: CacheKey, now: Double) -> EventLoopFuture<ByteBuffer?>? {
        tiers[loop].run([[RedisTier.bulk("GET"), RedisTier.bulk(RedisCacheKeys.entry(key))]], now: now)?.map { values in
            guard let value = values.first?.bytes else { return nil }
            return TierEntry.decode(value, material: key.material)
        }
    }

    func put(loop: Int, _ key: CacheKey, answer: ByteBuffer, ttl: Double, now: Double) {
        let ms = max(1, Int64(ttl * 1000))
        let command = [RedisTier.bulk("SET"), RedisTier.bulk(RedisCacheKeys.entry(key)), TierEntry.encode(material: key.material, answer: answer),
                       RedisTier.bulk("PX"), RedisTier.bulk(String(ms))]
        if let f = tiers[loop].run([command], now: now) {
            let tier = tiers[loop]
            f.whenSuccess { _ in tier.stored += 1 }
        }
    }

    /// A write through this instance: the shared versions move and every other instance hears of it. Not waited for.
    func wrote(loop: Int, scope: String, tables: [String]?, now: Double) {
        var commands: [[ByteBuffer]] = []
        for t in tables.map({ $0.map(Optional.some) }) ?? [nil] {
            commands.append([RedisTier.bulk("INCR"), RedisTier.bulk(RedisCacheKeys.version(scope: scope, table: t))])
            commands.append([RedisTier.bulk("PUBLISH"), RedisTier.bulk(RedisCacheKeys.channel),
                             InvalidationMessage(instance: instance, scope: scope, table: t).encoded])
        }
        _ = tiers[loop].run(commands, now: now)
    }

    // MARK: the subscription

    /// Subscribes (again after a loss, every second until it works); `heard` runs for each other instance's message,
    /// `back` once each time the subscription is (re)established.
    func subscribe(on loop: EventLoop, logger: Logger, heard: @escaping @Sendable (InvalidationMessage) -> Void,
                   back: @escaping @Sendable () -> Void) {
        guard !stopped.load(ordering: .relaxed) else { return }
        let instance = self.instance
        RedisSubscription.connect(to: endpoint, on: loop, timeout: .seconds(2), healthCheckInterval: .seconds(1), onMessage: { [weak self] _, payload in
            guard let message = InvalidationMessage(payload), message.instance != instance else { return }
            self?.received.add(1, ordering: .relaxed)
            heard(message)
        }, onConnectionLost: { [weak self] error in
            guard let self else { return }
            self.subscribed.store(false, ordering: .relaxed)
            logger.warning("cache: lost the Redis subscription (\(error.message)); the in-process tier is off until it is back")
            loop.scheduleTask(in: .seconds(1)) { self.subscribe(on: loop, logger: logger, heard: heard, back: back) }
        }).flatMap { subscription in
            self.subscription.withLock { $0 = subscription }
            return subscription.subscribe(channels: [RedisCacheKeys.channel])
        }.whenComplete { result in
            switch result {
            case .success:
                self.failures.store(0, ordering: .relaxed)
                back()
                self.subscribed.store(true, ordering: .relaxed)
            case .failure(let error):
                // Said once per outage, not at every retry.
                if self.failures.add(1, ordering: .relaxed).newValue == 1 {
                    logger.warning("cache: cannot subscribe to Redis at \(self.endpoint) (\(error)); the in-process tier is off until it can")
                }
                self.subscription.withLock { _ = $0?.close(); $0 = nil }
                loop.scheduleTask(in: .seconds(1)) { self.subscribe(on: loop, logger: logger, heard: heard, back: back) }
            }
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        subscription.withLock { _ = $0?.close(); $0 = nil }
    }
}
