// The result cache's L3: get, set, delete and flush on memcached, each run on a thread pool and answered on an event loop.
import CMemcached
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libmemcached blocks, so no call runs on an event loop: each is a job on the caller's NIOThreadPool. Values are
/// length-prefixed on the wire, so any bytes are safe; keys are checked first (see MemcachedKey).
public final class MemcachedStore: Sendable {
    /// memcached reads a TTL above 30 days as a Unix time.
    static let maxRelativeTTL = 30 * 24 * 3600

    private let pool: MemcachedHandlePool
    private let threadPool: NIOThreadPool
    public let servers: MemcachedServers

    /// `timeoutMilliseconds` bounds connecting, each poll, each send and each receive: a stopped or unreachable
    /// server holds a pool thread about that long, not the kernel's minutes.
    public init(servers: MemcachedServers, threadPool: NIOThreadPool, timeoutMilliseconds: Int = 5) throws(MemcachedError) {
        self.servers = servers
        self.threadPool = threadPool
        pool = try MemcachedHandlePool(servers: servers, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// The value, or `nil` when the key is absent.
    public func get(_ key: String, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer?> {
        run(key, on: eventLoop) { pointer throws(MemcachedError) in
            var length = 0, flags: UInt32 = 0
            var rc = MEMCACHED_SUCCESS
            let value = key.withCString { memcached_get(pointer, $0, key.utf8.count, &length, &flags, &rc) }
            defer { free(value) }
            if rc == MEMCACHED_NOTFOUND { return nil }
            guard rc == MEMCACHED_SUCCESS else { throw MemcachedHandlePool.error(pointer, rc, "get") }
            var buffer = ByteBufferAllocator().buffer(capacity: length)
            if let value, length > 0 { buffer.writeBytes(UnsafeRawBufferPointer(start: value, count: length)) }
            return buffer
        }
    }

    /// `ttlSeconds` 0 keeps the value until it is evicted.
    public func set(_ key: String, value: ByteBuffer, ttlSeconds: Int, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        guard ttlSeconds >= 0 else {
            return eventLoop.makeFailedFuture(MemcachedError(.invalidValue, "the TTL is \(ttlSeconds) seconds; it cannot be negative"))
        }
        let expiration = ttlSeconds > Self.maxRelativeTTL ? time(nil) + time_t(ttlSeconds) : time_t(ttlSeconds)
        return run(key, on: eventLoop) { pointer throws(MemcachedError) in
            let rc = value.withUnsafeReadableBytes { bytes in
                key.withCString { keyBytes in
                    memcached_set(pointer, keyBytes, key.utf8.count, bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                                  bytes.count, expiration, 0)
                }
            }
            guard rc == MEMCACHED_SUCCESS else { throw MemcachedHandlePool.error(pointer, rc, "set") }
        }
    }

    /// Whether the key was there.
    public func delete(_ key: String, on eventLoop: EventLoop) -> EventLoopFuture<Bool> {
        run(key, on: eventLoop) { pointer throws(MemcachedError) in
            let rc = key.withCString { memcached_delete(pointer, $0, key.utf8.count, 0) }
            if rc == MEMCACHED_NOTFOUND { return false }
            guard rc == MEMCACHED_SUCCESS else { throw MemcachedHandlePool.error(pointer, rc, "delete") }
            return true
        }
    }

    /// Empties every server.
    public func flushAll(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        run(nil, on: eventLoop) { pointer throws(MemcachedError) in
            let rc = memcached_flush(pointer, 0)
            guard rc == MEMCACHED_SUCCESS else { throw MemcachedHandlePool.error(pointer, rc, "flush_all") }
        }
    }

    private func run<Result: Sendable>(
        _ key: String?, on eventLoop: EventLoop,
        _ body: @escaping @Sendable (UnsafeMutablePointer<memcached_st>) throws(MemcachedError) -> Result
    ) -> EventLoopFuture<Result> {
        if let key {
            do { try MemcachedKey.validate(key) } catch { return eventLoop.makeFailedFuture(error) }
        }
        let pool = self.pool
        return threadPool.runIfActive(eventLoop: eventLoop) { try pool.withHandle(body) }
    }
}
