// The result cache's Redis, process-wide: one tier per loop (L2), the versions every instance shares, and the
// subscription through which other instances' writes reach this one's in-process tier.
import Logging
import NIOCore
import PGWire
import RedisClient
import ResultCache
import Synchronization

/// The shared versions a read was looked up under, and Redis's cache generation.
struct SharedStamp: Sendable {
    var generation: UInt64
    var stamp: VersionStamp
}

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
    /// Which subscription attempt is current: a loss or failure of an older one schedules nothing.
    private let generation = Atomic<Int>(0)
    /// Subscription attempts failed in a row.
    private let failures = Atomic<Int>(0)
    /// Messages received from other instances (SHOW CACHE, metrics).
    let received = Atomic<Int>(0)

    init(endpoint: RedisEndpoint, loops: [EventLoop], timeout: TimeAmount) {
        self.endpoint = endpoint
        tiers = loops.map { RedisTier(endpoint: endpoint, loop: $0, timeout: timeout) }
    }

    /// The shared versions of `tables` in `scope` (the generation and the scope's epoch first) and the answer stored
    /// under the name they make with `base`, in one round trip (a script: MGET, then GET): nil when Redis cannot be
    /// asked now, or while a write of this instance could not be told to it (`unsynced`). The answer comes back only
    /// if it was stored for exactly the key `key` makes of those versions.
    func lookup(loop: Int, scope: String, tables: [String], base: String, key: @escaping @Sendable (SharedStamp) -> CacheKey,
                now: Double) -> EventLoopFuture<(key: CacheKey, name: String, bytes: ByteBuffer?)>? {
        guard !unsynced.withLock({ $0.contains(scope) }) else { return nil }
        var command = [RedisTier.bulk("EVAL"), RedisTier.bulk(Self.lookupScript), RedisTier.bulk(String(tables.count + 2)),
                       RedisTier.bulk(RedisCacheKeys.generation), RedisTier.bulk(RedisCacheKeys.version(scope: scope, table: nil))]
        command += tables.map { RedisTier.bulk(RedisCacheKeys.version(scope: scope, table: $0)) }
        command.append(RedisTier.bulk(base))
        return tiers[loop].run([command], now: now)?.flatMapThrowing { values in
            guard case .array(let reply?) = values.first, reply.count == 2, case .array(let items?) = reply[0], items.count == tables.count + 2 else {
                throw RedisClientError(.protocolError, values.first?.errorMessage ?? "unexpected answer to the look-up script")
            }
            let numbers = items.map { item -> UInt64 in
                guard let b = item.bytes, let s = b.getString(at: b.readerIndex, length: b.readableBytes) else { return 0 }
                return UInt64(s) ?? 0
            }
            // No generation yet (set when an instance subscribes): nothing shared can be trusted.
            guard numbers[0] != 0 else { throw RedisClientError(.protocolError, "no cache generation in Redis yet") }
            let stamp = SharedStamp(generation: numbers[0], stamp: VersionStamp(epoch: numbers[1], versions: Array(numbers.dropFirst(2))))
            let shared = key(stamp)
            return (shared, RedisCacheKeys.entry(base: base, stamp: stamp), reply[1].bytes.flatMap { TierEntry.decode($0, material: shared.material) })
        }
    }

    /// Reads the versions (missing ones as 0) and, when there is a generation, the answer named by SHA-1 of the base
    /// and the versions joined by `:` (what `RedisCacheKeys.entry(base:stamp:)` makes in Swift). Declared read-only
    /// (Redis 7's shebang), so a Redis at its memory limit, which refuses scripts that may write, still answers it.
    static let lookupScript = """
        #!lua flags=no-writes
        local v = redis.call('MGET', unpack(KEYS))
        local parts = {ARGV[1]}
        for i = 1, #KEYS do
          if not v[i] then v[i] = '0' end
          parts[#parts + 1] = v[i]
        end
        if v[1] == '0' then return {v, false} end
        return {v, redis.call('GET', 'pgswift:c:' .. redis.sha1hex(table.concat(parts, ':')))}
        """

    /// A new generation: every answer stored under the old one is out of reach (a Redis restarted empty or restored
    /// from a snapshot could otherwise hand out versions, and answers, from before writes it lost). Set by each
    /// instance when its subscription starts.
    func newGeneration(now: Double) -> EventLoopFuture<Void> {
        let value = UInt64.random(in: 1...UInt64(Int64.max))
        guard let f = tiers[0].run([[RedisTier.bulk("SET"), RedisTier.bulk(RedisCacheKeys.generation), RedisTier.bulk(String(value))]], now: now) else {
            return tiers[0].loop.makeFailedFuture(RedisClientError(.connectFailed, "the tier's breaker is open"))
        }
        return f.flatMapThrowing { values in
            if let message = values.first?.errorMessage { throw RedisClientError(.protocolError, message) }
        }
    }

    /// Scopes where a write of this instance did not reach Redis: their shared answers are neither read nor stored
    /// until the scope's epoch has been moved there (`resync`), as other instances may still hold what it changed.
    let unsynced = Mutex<Set<String>>([])

    /// Moves the epoch of every scope whose writes were lost, and tells the others (the janitor calls it each second).
    func resync(now: Double) {
        let scopes = unsynced.withLock { $0 }
        for scope in scopes {
            var commands = [[RedisTier.bulk("INCR"), RedisTier.bulk(RedisCacheKeys.version(scope: scope, table: nil))]]
            commands.append([RedisTier.bulk("PUBLISH"), RedisTier.bulk(RedisCacheKeys.channel),
                             InvalidationMessage(instance: instance, scope: scope, table: nil).encoded])
            tiers[0].run(commands, now: now)?.whenSuccess { values in
                guard !values.contains(where: { $0.errorMessage != nil }) else { return }
                _ = self.unsynced.withLock { $0.remove(scope) }
            }
        }
    }

    /// Stores an answer under the name its look-up used (`name`), for exactly `key`.
    func put(loop: Int, name: String, _ key: CacheKey, answer: ByteBuffer, ttl: Double, now: Double) {
        let ms = max(1, Int64(ttl * 1000))
        let command = [RedisTier.bulk("SET"), RedisTier.bulk(name), TierEntry.encode(material: key.material, answer: answer),
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
        // A write Redis did not take: other instances may hold answers it changed, until the scope's epoch moves.
        guard let sent = tiers[loop].run(commands, now: now) else {
            _ = unsynced.withLock { $0.insert(scope) }
            return
        }
        sent.whenComplete { result in
            if case .success(let values) = result, !values.contains(where: { $0.errorMessage != nil }) { return }
            _ = self.unsynced.withLock { $0.insert(scope) }
        }
    }

    // MARK: the subscription

    /// Subscribes (again after a loss, every second until it works); `heard` runs for each other instance's message,
    /// `back` once each time the subscription is (re)established.
    func subscribe(on loop: EventLoop, logger: Logger, heard: @escaping @Sendable (InvalidationMessage) -> Void,
                   back: @escaping @Sendable () -> EventLoopFuture<Void>) {
        guard !stopped.load(ordering: .relaxed) else { return }
        let instance = self.instance
        let attempt = generation.add(1, ordering: .relaxed).newValue
        // One retry per attempt, by whichever of its ends comes first (a lost connection also fails a pending
        // SUBSCRIBE: both would schedule one).
        let retry: @Sendable () -> Void = { [weak self] in
            guard let self, self.generation.compareExchange(expected: attempt, desired: attempt + 1, ordering: .relaxed).exchanged else { return }
            self.subscribed.store(false, ordering: .relaxed)
            self.subscription.withLock { _ = $0?.close(); $0 = nil }
            loop.scheduleTask(in: .seconds(1)) { self.subscribe(on: loop, logger: logger, heard: heard, back: back) }
        }
        RedisSubscription.connect(to: endpoint, on: loop, timeout: .seconds(2), healthCheckInterval: .seconds(1), onMessage: { [weak self] _, payload in
            guard let message = InvalidationMessage(payload), message.instance != instance else { return }
            self?.received.add(1, ordering: .relaxed)
            heard(message)
        }, onConnectionLost: { error in
            logger.warning("cache: lost the Redis subscription (\(error.message)); the in-process tier is off until it is back")
            retry()
        }).flatMap { subscription in
            self.subscription.withLock { $0 = subscription }
            return subscription.subscribe(channels: [RedisCacheKeys.channel])
        }.whenComplete { result in
            switch result {
            case .success:
                guard self.generation.load(ordering: .relaxed) == attempt else { return }
                // The loops' tiers emptied and a new generation set before the in-process tier is used again.
                back().whenComplete { result in
                    guard self.generation.load(ordering: .relaxed) == attempt else { return }
                    switch result {
                    case .success:
                        self.failures.store(0, ordering: .relaxed)
                        self.subscribed.store(true, ordering: .relaxed)
                        logger.info("cache: subscribed to \(RedisCacheKeys.channel) on \(self.endpoint)")
                    case .failure(let error):
                        logger.warning("cache: could not start a new cache generation in Redis (\(error)); trying again")
                        retry()
                    }
                }
            case .failure(let error):
                // Said once per outage, not at every retry.
                if self.failures.add(1, ordering: .relaxed).newValue == 1 {
                    logger.warning("cache: cannot subscribe to Redis at \(self.endpoint) (\(error)); the in-process tier is off until it can")
                }
                retry()
            }
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        subscription.withLock { _ = $0?.close(); $0 = nil }
    }
}
