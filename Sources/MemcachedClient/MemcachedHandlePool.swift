// Configured libmemcached handles, lent to one thread-pool job at a time.
import CMemcached
import NIOConcurrencyHelpers

/// A `memcached_st` owns sockets and read buffers that every call mutates, so it must never be used by two threads
/// at once. Handles are cloned from a configured prototype and kept in a free list: a job takes one, uses it and
/// gives it back. This is what libmemcachedutil's `memcached_pool_st` does, without linking a second C library, and
/// without thread-locals, which NIOThreadPool does not offer. Live handles never outnumber the pool's threads.
final class MemcachedHandlePool: Sendable {
    private let prototype: MemcachedHandle
    private let idle = NIOLockedValueBox<[MemcachedHandle]>([])

    init(servers: MemcachedServers, timeoutMilliseconds: Int) throws(MemcachedError) {
        guard let pointer = memcached_create(nil) else { throw MemcachedError(.server, "libmemcached could not allocate a handle") }
        prototype = MemcachedHandle(pointer)
        let timeout = UInt64(max(1, timeoutMilliseconds))
        let behaviors: [(memcached_behavior_t, UInt64)] = [
            // Non-blocking sockets are what make the connect and poll timeouts apply.
            (MEMCACHED_BEHAVIOR_NO_BLOCK, 1),
            (MEMCACHED_BEHAVIOR_TCP_NODELAY, 1),
            (MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, timeout),
            (MEMCACHED_BEHAVIOR_POLL_TIMEOUT, timeout),
            // These two are in microseconds.
            (MEMCACHED_BEHAVIOR_SND_TIMEOUT, timeout * 1000),
            (MEMCACHED_BEHAVIOR_RCV_TIMEOUT, timeout * 1000),
            // Consistent hashing: adding or losing a server moves only its share of the keys.
            (MEMCACHED_BEHAVIOR_KETAMA, 1),
            // A failed server is skipped (fails fast) for a second before it is tried again. It is not ejected:
            // its keys would go to another server, and once back it would serve values whose invalidations went elsewhere.
            (MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1),
        ]
        for (behavior, value) in behaviors {
            let rc = memcached_behavior_set(pointer, behavior, value)
            guard rc == MEMCACHED_SUCCESS else { throw Self.error(pointer, rc, "setting a behavior") }
        }
        for server in servers.servers {
            let rc = memcached_server_add(pointer, server.host, in_port_t(server.port))
            guard rc == MEMCACHED_SUCCESS else { throw Self.error(pointer, rc, "adding server \(server)") }
        }
    }

    /// Runs `body` with a handle nobody else is using; blocking, so only ever called on a thread-pool thread.
    func withHandle<Result>(_ body: (UnsafeMutablePointer<memcached_st>) throws(MemcachedError) -> Result) throws(MemcachedError) -> Result {
        let handle = try take()
        defer { idle.withLockedValue { $0.append(handle) } }
        return try body(handle.pointer)
    }

    private func take() throws(MemcachedError) -> MemcachedHandle {
        let result = idle.withLockedValue { handles -> MemcachedHandle? in
            if let handle = handles.popLast() { return handle }
            // Cloning reads the prototype; under the lock no two clones read it at once.
            return memcached_clone(nil, prototype.pointer).map(MemcachedHandle.init)
        }
        guard let result else { throw MemcachedError(.server, "libmemcached could not clone a handle (out of memory)") }
        return result
    }

    /// libmemcached's own account of the last failure names the server and the cause (timeout, refused...).
    static func error(_ pointer: UnsafeMutablePointer<memcached_st>, _ rc: memcached_return_t, _ doing: String) -> MemcachedError {
        let detail = memcached_last_error_message(pointer).map { String(cString: $0) }
            ?? memcached_strerror(pointer, rc).map { String(cString: $0) }
            ?? "error \(rc.rawValue)"
        return MemcachedError(.server, "\(doing) failed: \(detail)")
    }
}

/// Owns one `memcached_st`. Unchecked Sendable: the pool hands it to one thread at a time, under its lock.
final class MemcachedHandle: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<memcached_st>

    init(_ pointer: UnsafeMutablePointer<memcached_st>) {
        self.pointer = pointer
    }

    deinit {
        memcached_free(pointer)
    }
}
