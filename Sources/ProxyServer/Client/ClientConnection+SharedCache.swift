// The result cache's shared tiers (Redis, Memcached) on a client's path: asked after a miss in the loop's own tier,
// filled with what a server answered; and every write told to Redis, so that other instances see it.
import NIOCore
import ResultCache
import SQLAnalysis

extension ClientConnection {
    /// Asks the shared tiers for the held request's answer: Redis reads the shared versions of its tables and the
    /// entry under the name they make in one round trip, then Memcached is asked under the same key. False when they
    /// cannot be asked now (Redis's breaker open, or a write of this instance it has not taken): the request goes to
    /// a server. The client waits meanwhile, no longer than cache_tier_timeout per round trip.
    func askShared(_ parts: CacheKey.Parts, pool: ServerPool) -> Bool {
        guard let cache, let redis = runtime.remoteCache else { return false }
        let now = runtime.now(), loop = loopIndex
        let memcached = runtime.memcachedCache
        // The shared key has the shared versions where this instance's own are, and the generation where its schema
        // epoch is (DDL moves the shared versions too); the name's base is everything but those.
        let sharedKey: @Sendable (SharedStamp) -> CacheKey = { parts.key(schemaEpoch: Int(truncatingIfNeeded: $0.generation), stamp: $0.stamp) }
        let base = RedisCacheKeys.base(parts.key(schemaEpoch: 0, stamp: VersionStamp(epoch: 0, versions: parts.tables.map { _ in 0 })))
        guard let looked = redis.lookup(loop: loop, scope: parts.database, tables: parts.tables, base: base, key: sharedKey, now: now)
        else { return false }
        let token = cache.newToken()
        cache.wait = .asking(token)
        let started = NIODeadline.now()
        looked.map { found in
            redis.tiers[loop].lookupNanos.add(NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds)
            return SharedAnswer(key: found.key, name: found.name, bytes: found.bytes, tier: found.bytes == nil ? nil : .l2)
        }.flatMap { found -> EventLoopFuture<SharedAnswer> in
            guard found.bytes == nil, let memcached, let get = memcached.get(loop: loop, found.key, now: now) else {
                return self.eventLoop.makeSucceededFuture(found)
            }
            return get.map { SharedAnswer(key: found.key, name: found.name, bytes: $0, tier: $0 == nil ? nil : .l3) }
                .flatMapErrorThrowing { _ in found }
        }.whenComplete { result in
            self.sharedAnswered(result, token: token, pool: pool)
        }
        return true
    }

    /// What the shared tiers said: the key asked and its name in Redis, and the answer with the tier that had it.
    struct SharedAnswer: Sendable {
        enum Tier: Sendable { case l2, l3 }
        var key: CacheKey
        var name: String
        var bytes: ByteBuffer?
        var tier: Tier?
    }

    private func sharedAnswered(_ result: Result<SharedAnswer, Error>, token: UInt32, pool: ServerPool) {
        guard let cache, cache.wait == .asking(token), isWaiting, let recording = cache.recording else { return }
        cache.wait = .none
        let redisTier = runtime.remoteCache?.tiers[loopIndex]
        // A write on this instance since the look-up (its bump reaches Redis later): what the shared tiers hold may be
        // from before it, so it is neither used nor filled in.
        if case .success(let found) = result, !moved(since: recording, scope: cache.scope) {
            if let bytes = found.bytes {
                if found.tier == .l2 { redisTier?.hits += 1 }
                let answer = CachedAnswer(bytes: bytes, scope: cache.scope, tables: recording.tables, tags: recording.tags,
                                          fingerprint: recording.fingerprint)
                // The tiers above are filled: the next read needs no round trip (or one fewer).
                keep(answer, key: recording.key, remoteKey: found.tier == .l3 ? found.key : nil, remoteName: found.name, ttl: recording.ttl,
                     into: .aboveL3)
                endRecording(kept: answer)
                return self.answer(with: answer, now: .now())
            }
            redisTier?.misses += 1
            cache.recording?.remoteKey = found.key
            cache.recording?.remoteName = found.name
        }
        // A failure was counted by the tier's breaker: the read goes on without it, and its answer is not stored there.
        cache.next = .keepRecording
        lease(from: pool, now: .now())
    }

    /// Which tiers an answer goes into: all of them (a server's), or those above Memcached (a shared tier's hit).
    enum KeptInto { case all, aboveL3 }

    /// An answer, kept: in the loop's tier (while other instances' writes are heard), and under `remoteKey` (nil: not)
    /// in the shared ones.
    func keep(_ answer: CachedAnswer, key: CacheKey, remoteKey: CacheKey?, remoteName: String?, ttl: Double, into tiers: KeptInto = .all) {
        let now = runtime.now()
        let remote = runtime.remoteCache
        if remote?.subscribed.load(ordering: .relaxed) ?? true {
            runtime.connections(at: loopIndex).cache.put(key, answer, ttl: ttl, now: now)
        }
        guard let remoteKey, remote?.unsynced.withLock({ $0.contains(answer.scope) }) != true else { return }
        if let remote, let remoteName { remote.put(loop: loopIndex, name: remoteName, remoteKey, answer: answer.bytes, ttl: ttl, now: now) }
        if tiers == .all { runtime.memcachedCache?.put(loop: loopIndex, remoteKey, answer: answer.bytes, ttl: ttl, now: now) }
    }

    /// A write (to `tables`, or to anything when nil) moves this instance's versions, and the shared ones.
    func cacheWrote(scope: String, tables: [String]?) {
        if let tables { runtime.cacheVersions.wrote(scope: scope, tables: tables) } else { runtime.cacheVersions.wroteAnything(scope: scope) }
        runtime.remoteCache?.wrote(loop: loopIndex, scope: scope, tables: tables, now: runtime.now())
    }
}
