// The result cache's parts of the runtime: the shared tiers made at start, their settings checked as the file is
// read, and each loop's tier given new settings on a reload or SET.
import Config
import MemcachedClient
import NIOCore
import RedisClient

extension LoadedConfig {
    /// The cache's Redis URL and Memcached servers, checked as the file is read: a bad one is a config error naming
    /// its place, and Memcached without Redis is refused (its keys come from the versions Redis keeps).
    static func checkCacheTiers(_ config: ProxyConfig, path: String) throws(ConfigErrors) {
        func fail(_ key: String, _ message: String) -> ConfigErrors {
            let place: (String, Int) = switch config.settings[key]?.source {
            case .file(let f, let line)?: (f, line)
            case .environment(let n)?: ("environment \(n)", 0)
            default: (path, 0)
            }
            return ConfigErrors([ConfigError(file: place.0, line: place.1, key: key, message: message)])
        }
        let redisURL = config.string("cache_redis_url"), memcachedList = config.string("cache_memcached_servers")
        if !redisURL.isEmpty {
            do { _ = try RedisEndpoint(parsing: redisURL) } catch { throw fail("cache_redis_url", error.message) }
        }
        guard !memcachedList.isEmpty else { return }
        guard !redisURL.isEmpty else {
            throw fail("cache_memcached_servers", "needs cache_redis_url (the versions that name answers in Memcached live there)")
        }
        do { _ = try MemcachedServers(parsing: memcachedList) } catch { throw fail("cache_memcached_servers", error.message) }
    }
}

extension ProxyRuntime {
    /// Redis and Memcached as the config names them (already checked by `LoadedConfig.load`); read at start only.
    static func sharedCacheTiers(_ c: ProxyConfig, loops: [EventLoop]) -> (RemoteCache?, MemcachedCache?) {
        let timeout = TimeAmount.microseconds(Int64(max(c.seconds("cache_tier_timeout"), 0.001) * 1_000_000))
        let redisURL = c.string("cache_redis_url"), memcachedList = c.string("cache_memcached_servers")
        guard !redisURL.isEmpty, let endpoint = try? RedisEndpoint(parsing: redisURL) else { return (nil, nil) }
        let redis = RemoteCache(endpoint: endpoint, loops: loops, timeout: timeout)
        guard !memcachedList.isEmpty, let servers = try? MemcachedServers(parsing: memcachedList) else { return (redis, nil) }
        return (redis, try? MemcachedCache(servers: servers, loops: loops, timeout: timeout))
    }

    /// Each loop's cache tier takes the new settings on its own thread.
    func applyCacheSettings(_ c: ProxyConfig) {
        let settings = CacheSettings(c)
        for (i, loop) in loops.enumerated() {
            let registry = connections(at: i)
            loop.execute { registry.cache.apply(settings) }
        }
    }
}
