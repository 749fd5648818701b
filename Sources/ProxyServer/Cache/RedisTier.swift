// One event loop's use of the cache's Redis (L2): its connection, its breaker, its counts. Loop-confined.
import NIOCore
import PGWire
import RedisClient
import ResultCache

final class RedisTier: @unchecked Sendable {
    let endpoint: RedisEndpoint
    let loop: EventLoop
    /// How long one operation may take before the client goes on without it (cache_tier_timeout).
    let timeout: TimeAmount
    private(set) var breaker = TierBreaker()
    private var connection: RedisConnection?
    private var connecting: EventLoopFuture<RedisConnection>?
    var hits = 0, misses = 0, errors = 0, stored = 0
    var lookupNanos = LatencyRing()

    init(endpoint: RedisEndpoint, loop: EventLoop, timeout: TimeAmount) {
        self.endpoint = endpoint
        self.loop = loop
        self.timeout = timeout
    }

    /// Sends `commands` pipelined on this loop's connection; nil when the breaker keeps the tier out. The future fails
    /// after `timeout` whatever Redis does (a stopped server keeps its socket open and answers nothing).
    func run(_ commands: [[ByteBuffer]], now: Double) -> EventLoopFuture<[RedisValue]>? {
        guard breaker.allow(now: now) else { return nil }
        let promise = loop.makePromise(of: [RedisValue].self)
        let deadline = loop.scheduleTask(in: timeout) { promise.fail(RedisClientError(.timeout, "no answer within cache_tier_timeout")) }
        let connected: EventLoopFuture<RedisConnection>
        if let c = connection, c.isActive {
            connected = loop.makeSucceededFuture(c)
        } else if let pending = connecting {
            connected = pending
        } else {
            connection = nil
            // A connect that outlives the deadline still ends (its own timeout) and serves the next operation.
            let opening = RedisConnection.connect(to: endpoint, on: loop, timeout: .seconds(2), replyTimeout: .seconds(2))
            connecting = opening
            opening.whenComplete { result in
                self.connecting = nil
                if case .success(let c) = result { self.connection = c }
            }
            connected = opening
        }
        connected.flatMap { c in
            EventLoopFuture.whenAllSucceed(commands.map { c.send($0) }, on: self.loop)
        }.whenComplete { result in
            deadline.cancel()
            promise.completeWith(result)
        }
        return promise.futureResult.map { values in
            // An error reply (OOM, a wrong type) is the tier failing too.
            if values.contains(where: { $0.errorMessage != nil }) {
                self.failed()
            } else {
                self.breaker.succeeded()
            }
            return values
        }.flatMapErrorThrowing { error in
            self.failed()
            throw error
        }
    }

    private func failed() {
        errors += 1
        breaker.failed(now: ProxyRuntime.seconds(.now()))
        // A connection that timed out may still deliver the late answer to the next command: never reuse it.
        if breaker.isOpen { connection?.close().whenComplete { _ in } ; connection = nil }
    }

    static func bulk(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }
}

/// Key names in Redis, one place.
enum RedisCacheKeys {
    static let channel = "pgswift:invalidate"
    static let generation = "pgswift:gen"

    static func version(scope: String, table: String?) -> String { "pgswift:v:\(scope):\(table ?? "*")" }

    /// The tier's name for an answer: SHA-1 of the base (a hash of everything in the key but the versions) and the
    /// versions, joined by `:` as the look-up script joins them (the value holds the key's whole material).
    static func entry(base: String, stamp: SharedStamp) -> String {
        var parts = [base, String(stamp.generation), String(stamp.stamp.epoch)]
        parts += stamp.stamp.versions.map { String($0) }
        return "pgswift:c:" + CryptoPrimitives.hex(CryptoPrimitives.sha1(Array(parts.joined(separator: ":").utf8)))
    }

    /// The base of a request's names: a hash of its key without versions.
    static func base(_ unversioned: CacheKey) -> String { CryptoPrimitives.hex(CryptoPrimitives.sha256(unversioned.material)) }
}
