// The result cache's shared tier (Redis) on a client's path: asked after a miss in the loop's own tier, filled with
// what a server answered, and told of every write so that other instances see it.
import NIOCore
import ResultCache
import SQLAnalysis

extension ClientConnection {
    /// Asks Redis for the held request's answer: the shared versions of its tables first, then the entry under the
    /// key they make. False when the tier is out (its breaker open): the request goes to a server now. The client
    /// waits meanwhile, no longer than cache_tier_timeout per round trip.
    func askShared(_ remote: RemoteCache, scope: String, tables: [String], key sharedKey: @escaping @Sendable (VersionStamp) -> CacheKey,
                   pool: ServerPool) -> Bool {
        guard let cache else { return false }
        let now = runtime.now(), loop = loopIndex
        guard let versions = remote.versions(loop: loop, scope: scope, tables: tables, now: now) else { return false }
        cache.followToken &+= 1
        cache.asking = true
        let token = cache.followToken
        let started = NIODeadline.now()
        versions.flatMap { stamp -> EventLoopFuture<(CacheKey, ByteBuffer?)> in
            let key = sharedKey(stamp)
            guard let get = remote.get(loop: loop, key, now: now) else { return self.eventLoop.makeSucceededFuture((key, nil)) }
            return get.map { (key, $0) }
        }.whenComplete { result in
            remote.tiers[loop].lookupNanos.add(NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds)
            self.sharedAnswered(result, token: token, pool: pool)
        }
        return true
    }

    private func sharedAnswered(_ result: Result<(CacheKey, ByteBuffer?), Error>, token: UInt32, pool: ServerPool) {
        guard let cache, cache.asking, cache.followToken == token, isWaiting, cache.recording != nil else { return }
        cache.asking = false
        let tier = runtime.remoteCache?.tiers[loopIndex]
        switch result {
        case .success((let key, let bytes?)):
            tier?.hits += 1
            guard let recording = cache.recording else { return }
            let found = CachedAnswer(bytes: bytes, scope: cache.scope, tables: recording.tables, tags: recording.tags, fingerprint: recording.fingerprint)
            // The tier above is filled (when it may be used): the next read of this loop needs no round trip.
            if runtime.remoteCache?.subscribed.load(ordering: .relaxed) ?? true {
                runtime.connections(at: loopIndex).cache.put(recording.key, found, ttl: recording.ttl, now: runtime.now())
            }
            _ = key
            endRecording(kept: found)
            answer(with: found, now: .now())
        case .success((let key, nil)):
            tier?.misses += 1
            cache.recording?.remoteKey = key
            cache.resumeRecording = true
            lease(from: pool, now: .now())
        case .failure:
            // Already counted by the tier's breaker: the read goes on without it, and its answer is not stored there.
            cache.resumeRecording = true
            lease(from: pool, now: .now())
        }
    }

    /// A server's answer, kept: in the loop's tier (while other instances' writes are heard) and the shared one.
    func keep(_ answer: CachedAnswer, key: CacheKey, remoteKey: CacheKey?, ttl: Double) {
        let now = runtime.now()
        let remote = runtime.remoteCache
        if remote?.subscribed.load(ordering: .relaxed) ?? true {
            runtime.connections(at: loopIndex).cache.put(key, answer, ttl: ttl, now: now)
        }
        if let remote, let remoteKey { remote.put(loop: loopIndex, remoteKey, answer: answer.bytes, ttl: ttl, now: now) }
    }

    /// A write (to `tables`, or to anything when nil) moves this instance's versions, and the shared ones.
    func cacheWrote(scope: String, tables: [String]?) {
        if let tables { runtime.cacheVersions.wrote(scope: scope, tables: tables) } else { runtime.cacheVersions.wroteAnything(scope: scope) }
        runtime.remoteCache?.wrote(loop: loopIndex, scope: scope, tables: tables, now: runtime.now())
    }
}
