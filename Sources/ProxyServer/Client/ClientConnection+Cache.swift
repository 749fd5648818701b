// The result cache on a client's data path: a request answered from the loop's tier, a miss's answer kept as it goes
// to the client, the writes the client sends moving the versions of their tables. Decisions are ResultCache's.
import NIOCore
import PGWire
import ResultCache
import SQLAnalysis
import SessionCore

/// A client's part of the cache, out of line: only clients of a pgswift with the cache on hold one.
final class ClientCacheState {
    /// The PostgreSQL database the client's pool reaches (`CacheScope`), as versions and keys name it.
    let scope: String
    /// The miss being answered, recorded as it goes to the client.
    var recording: Recording?
    /// The client's settings as keys carry them, and its search_path as schemas, made again when they change (nil:
    /// not made yet).
    var settingsMaterial: [UInt8]?
    var searchPath: [String]?
    /// What the held request waits for besides a server, if anything.
    var wait = Wait.none
    /// What the next lease does before it asks for a server.
    var next = NextLease.lookUp
    /// This request was looked up in the loop's tier (and counted there as a miss).
    var lookedUpLocally = false
    /// How many held bytes the request looked up was (more may arrive while its answer is awaited).
    var requestBytes = 0
    /// Tables the unit in progress wrote, moved again when it ends; and whether it wrote where pgswift cannot tell.
    var wrote: Set<String> = []
    var wroteAnything = false
    private var tokens: UInt32 = 0

    /// Another client's identical miss, or Redis; each wait with its token, so that an answer for a wait since ended
    /// (cancelled, timed out, answered otherwise) is dropped.
    enum Wait: Equatable {
        case none
        case following(UInt32)
        case asking(UInt32)
    }

    enum NextLease {
        case lookUp
        /// Redis was asked and missed: the recording made before stays, the request goes to a server.
        case keepRecording
        /// The miss this client followed was not kept: it goes to a server with no look-up.
        case skipLookUp
    }

    struct Recording {
        let key: CacheKey
        let stamp: VersionStamp
        let schemaEpoch: Int
        let tables: [String]
        let ttl: Double
        let tags: [String]
        let fingerprint: UInt64?
        var recorder: AnswerRecorder
        /// The key in the shared tiers, from the shared versions read at the look-up, and its name in Redis (nil: not
        /// stored there).
        var remoteKey: CacheKey?
        var remoteName: String?
    }

    init(scope: String) { self.scope = scope }

    func newToken() -> UInt32 {
        tokens &+= 1
        return tokens
    }
}

/// How a request fared with the cache at lease time.
enum CacheStep {
    /// Answered from the cache: no server.
    case answered
    /// Not all of it has arrived: wait for the rest before deciding (and before routing).
    case incomplete
    /// The same request is already on its way to a server for another client: wait for its answer.
    case following
    /// Redis is being asked for it: its answer, or a lease, follows.
    case asking
    /// To a server (a miss is recorded on its way back).
    case server
}

extension ClientConnection {
    /// The name versions and keys use for the PostgreSQL database `pool` reaches: two [databases] entries naming the
    /// same database on the same hosts share it, so a write through one moves what the other reads.
    static func cacheScope(_ pool: ServerPool) -> String {
        let t = pool.home.target
        return t.addresses.map(\.description).joined(separator: ",") + "/" + t.database
    }

    /// Gives the client its part of the cache once the cache is on anywhere (at login, or at a lease or a batch after a
    /// RELOAD or SET turned it on), so that its writes are seen from then on.
    func attachCache(_ pool: ServerPool) {
        guard cache == nil, runtime.connections(at: loopIndex).cache.settings.anyOn else { return }
        let scope = Self.cacheScope(pool)
        cache = ClientCacheState(scope: scope)
        session.watchesWrites = true
        let target = pool.home.target
        if runtime.cacheCatalogs.register(scope: scope, entry: pool.key.database, dbname: target.database, addresses: target.addresses) {
            // Nothing of a database is cached before its catalog is read: read it now rather than at the next tick.
            let runtime = self.runtime
            runtime.loops[0].execute { runtime.checkCacheCatalogs() }
        }
    }

    /// Looks the held request up when the cache is on for the client's database.
    func cacheStep(_ pool: ServerPool, now: NIODeadline) -> CacheStep {
        guard let cache else { return .server }
        let next = cache.next
        cache.next = .lookUp
        if next == .keepRecording { return .server }
        endRecording(kept: nil)
        cache.wait = .none
        if next == .skipLookUp { return .server }
        let loop = runtime.connections(at: loopIndex)
        let tier = loop.cache
        let mode = tier.settings.mode(database: pool.key.database)
        guard session.mode != .session, !session.pinned, mode != .off else { return .server }
        // Until the database's catalog is read, pgswift cannot tell which functions and tables are safe.
        guard let catalog = tier.catalogs[cache.scope] else {
            tier.passes += 1
            return .server
        }
        guard let request = session.cacheRequest() else {
            // A request still arriving (a big Bind over several reads) is waited for, up to the hold limit.
            if session.heldBytes <= ClientSession.holdLimit, !session.heldStatements().complete { return .incomplete }
            return .server
        }
        cache.requestBytes = session.heldBytes
        let started = NIODeadline.now()
        let (profile, hints) = request.text.withUnsafeReadableBytes { text in
            request.id.map { loop.profiles.profile(id: $0, text) } ?? loop.profiles.profile(text)
        }
        let target = pool.home.target
        let decision = CachePolicy.decide(profile, hints: hints, rules: tier.settings.rules, searchPath: cachedSearchPath(user: target.user),
                                          volatile: tier.writers(catalog), stable: catalog.stable,
                                          nonPermanent: catalog.nonPermanent)
        // Safe reads no rule covers are what `auto` (and SHOW CACHE_CANDIDATES under `on`) counts.
        if mode == .auto || decision == .pass(.noRule), let fingerprint = profile.fingerprint, !decision.unsafe {
            var h = Hasher()
            h.combine(request.identity)
            h.combine(settingsMaterial())
            tier.candidates.read(fingerprint: fingerprint, key: h.finalize(), tables: profile.relations.map(\.name),
                                 sample: String(buffer: request.text))
        }
        guard mode == .on, case .keep(let ttl, let tags) = decision else {
            tier.passes += 1
            return .server
        }
        let tables = profile.tableNames
        let stamp = runtime.cacheVersions.stamp(scope: cache.scope, tables: tables)
        let schemaEpoch = runtime.statementCatalog.schemaEpoch
        let parts = CacheKey.Parts(database: cache.scope, user: target.user, settingsMaterial: settingsMaterial(),
                                   statement: .shape(request.identity), tables: tables)
        let key = parts.key(schemaEpoch: schemaEpoch, stamp: stamp)
        // With Redis, the in-process tier is used only while other instances' writes are heard.
        let remote = runtime.remoteCache
        let local = remote?.subscribed.load(ordering: .relaxed) ?? true
        let found = local ? tier.get(key, now: ProxyRuntime.seconds(started)) : nil
        cache.lookedUpLocally = local
        if local { tier.lookupNanos.add(NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds) }
        guard let found else {
            let token = cache.newToken()
            guard runtime.cacheFlights.lead(key, or: .init(client: self, token: token)) else {
                cache.wait = .following(token)
                return .following
            }
            cache.recording = .init(key: key, stamp: stamp, schemaEpoch: schemaEpoch, tables: tables, ttl: ttl, tags: tags,
                                    fingerprint: profile.fingerprint, recorder: AnswerRecorder(limit: tier.settings.maxEntryBytes))
            if askShared(parts, pool: pool) { return .asking }
            return .server
        }
        answer(with: found, now: now)
        return .answered
    }

    /// The held request's answer, from the cache. What the client sent after it (while an answer was awaited) goes
    /// on to a server.
    func answer(with found: CachedAnswer, now: NIODeadline) {
        let bytes = cache?.requestBytes ?? session.heldBytes
        let (resume, more) = session.answeredFromCache(bytes: bytes, now: now)
        counters?.totals.sent += found.bytes.readableBytes
        context?.writeAndFlush(wrapOutboundOut(found.bytes), promise: nil)
        if resume { holdBack(.held, false) }
        if more, case .pooled(let pool) = state { lease(from: pool, now: now) }
    }

    /// The held request was answered without the cache (cancelled, refused): a miss it led ends, and any wait for
    /// another client's miss or for Redis is over.
    func cacheRequestAnswered() {
        guard let cache else { return }
        endRecording(kept: nil)
        cache.wait = .none
        cache.next = .lookUp
    }

    /// The miss this client recorded is over: kept (`kept`) or not. Clients that waited for it get the answer, or go
    /// to a server themselves.
    func endRecording(kept: CachedAnswer?) {
        guard let cache, let recording = cache.recording else { return }
        cache.recording = nil
        for f in runtime.cacheFlights.land(recording.key) {
            let client = f.client
            if client.eventLoop === eventLoop {
                client.followed(token: f.token, answer: kept)
            } else {
                client.eventLoop.execute { client.followed(token: f.token, answer: kept) }
            }
        }
    }

    /// The request this client waited for was answered (`answer`), or not kept: then it goes to a server.
    func followed(token: UInt32, answer found: CachedAnswer?) {
        guard let cache, cache.wait == .following(token), isWaiting, case .pooled(let pool) = state else { return }
        cache.wait = .none
        if let found {
            // A hit after all: counted as one, and no longer as the miss its look-up was.
            runtime.connections(at: loopIndex).cache.followerHits += 1
            if cache.lookedUpLocally { runtime.connections(at: loopIndex).cache.followerMisses += 1 }
            return answer(with: found, now: .now())
        }
        cache.next = .skipLookUp
        lease(from: pool, now: .now())
    }

    /// Whether a write (or DDL) on this instance moved what `recording` was looked up under: its answer may be from
    /// before that write, wherever it came from.
    func moved(since recording: ClientCacheState.Recording, scope: String) -> Bool {
        runtime.cacheVersions.stamp(scope: scope, tables: recording.tables) != recording.stamp
            || runtime.statementCatalog.schemaEpoch != recording.schemaEpoch
    }

    /// The client's settings as keys carry them (made once per change of its settings).
    private func settingsMaterial() -> [UInt8] {
        if let known = cache?.settingsMaterial { return known }
        let material = CacheKey.settingsMaterial(desiredSettings)
        cache?.settingsMaterial = material
        return material
    }

    /// The client's schemas in search order (made once per change of its settings).
    private func cachedSearchPath(user: String) -> [String] {
        if let known = cache?.searchPath { return known }
        let schemas = CacheRules.schemas(searchPath: desiredSettings["search_path"], user: user)
        cache?.searchPath = schemas
        return schemas
    }

    /// The server's bytes on their way to the client: a recorded miss is kept when whole; a unit that wrote, once
    /// over, moves its tables again (before its client hears the commit, so no read after that finds the old answer).
    func cacheDelivered(_ buffers: [ByteBuffer], answered: Int, status: TransactionStatus) {
        guard let cache else { return }
        if var recording = cache.recording {
            var outcome = AnswerRecorder.Progress.more
            for b in buffers where outcome == .more { outcome = recording.recorder.feed(b) }
            let tier = runtime.connections(at: loopIndex).cache
            switch outcome {
            case .more:
                cache.recording = recording
            case .done(let bytes):
                // A read sent to a replica may not reflect a write the primary took already: not kept.
                if moved(since: recording, scope: cache.scope) || replicaStatement {
                    tier.notKept += 1
                    endRecording(kept: nil)
                } else {
                    let answer = CachedAnswer(bytes: bytes, scope: cache.scope, tables: recording.tables, tags: recording.tags,
                                              fingerprint: recording.fingerprint)
                    keep(answer, key: recording.key, remoteKey: recording.remoteKey, remoteName: recording.remoteName, ttl: recording.ttl)
                    endRecording(kept: answer)
                }
            case .abandoned:
                tier.notKept += 1
                endRecording(kept: nil)
            }
        }
        guard answered > 0 else { return }
        if session.mode == .session {
            // A session-mode client's statements are not read: whatever it ran may have written.
            cacheWrote(scope: cache.scope, tables: nil)
        } else {
            // Every answered request may have committed (pipelined units, a COMMIT answered with the next BEGIN): what
            // was written moves again at each, before the client hears it, and is forgotten once the link is idle.
            cacheUnitEnded(over: status == .idle)
        }
    }

    /// Requests that wrote were answered (`over`: the unit of work is over, committed, rolled back, or its client
    /// gone): what they wrote moves again.
    func cacheUnitEnded(over: Bool = true) {
        guard let cache, cache.wroteAnything || !cache.wrote.isEmpty else { return }
        if cache.wroteAnything { cacheWrote(scope: cache.scope, tables: nil) }
        if !cache.wrote.isEmpty { cacheWrote(scope: cache.scope, tables: Array(cache.wrote)) }
        guard over else { return }
        cache.wroteAnything = false
        cache.wrote.removeAll(keepingCapacity: true)
    }

    /// Statements on their way to the server: those that may write move their tables now (and again at the unit's end),
    /// with every table the catalog says such a write reaches.
    func noteCacheWrites() {
        guard let cache else { return }
        let loop = runtime.connections(at: loopIndex)
        let catalog = loop.cache.catalogs[cache.scope]
        let scope = cache.scope
        session.drainSeen { t in
            // Most statements surely write nothing (BEGIN, a SELECT of columns): no profile for them.
            guard t.withUnsafeReadableBytes({ WriteScan.mayWrite($0) }) else { return }
            let (profile, _) = t.withUnsafeReadableBytes { loop.profiles.profile($0) }
            if profile.primaryReason == .ddl { runtime.cacheCatalogs.readSoon(scope: scope) }
            var effect = CacheWrites.effect(of: profile, volatile: loop.cache.writers(catalog))
            // Without the catalog, what a write reaches (views, partitions, triggers) is unknown.
            if case .tables(let names) = effect { effect = catalog?.closure(of: names).map { .tables($0) } ?? .anything }
            switch effect {
            case .none:
                return
            case .tables(let names):
                loop.cache.candidates.wrote(names)
                cacheWrote(scope: scope, tables: names)
                cache.wrote.formUnion(names)
            case .anything:
                cacheWrote(scope: scope, tables: nil)
                cache.wroteAnything = true
            }
        }
    }
}
