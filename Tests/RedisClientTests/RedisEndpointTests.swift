// Reading Redis addresses: the URL forms the cache's configuration accepts, and clear refusals for the rest.
import RedisClient
import Testing

@Suite("Redis endpoint")
struct RedisEndpointTests {
    @Test(arguments: [
        ("redis://localhost", RedisEndpoint(host: "localhost")),
        ("redis://cache.internal:6380", RedisEndpoint(host: "cache.internal", port: 6380)),
        ("redis://:s3cret@10.0.0.5/2", RedisEndpoint(host: "10.0.0.5", password: "s3cret", database: 2)),
        ("REDIS://app:p%40ss%3Aw@h:7000/15", RedisEndpoint(host: "h", port: 7000, username: "app", password: "p@ss:w", database: 15)),
        ("redis://[::1]:6390/", RedisEndpoint(host: "::1", port: 6390)),
        ("redis://h:1/0", RedisEndpoint(host: "h", port: 1)),
        ("127.0.0.1:6379", RedisEndpoint(host: "127.0.0.1")),
        ("  redis-host  ", RedisEndpoint(host: "redis-host")),
        ("[fe80::1]:7001", RedisEndpoint(host: "fe80::1", port: 7001)),
    ])
    func accepted(text: String, expected: RedisEndpoint) throws {
        #expect(try RedisEndpoint(parsing: text) == expected)
    }

    @Test(arguments: [
        ("rediss://h:6379", "not supported yet"),
        ("http://h", "unknown scheme"),
        ("", "empty"),
        ("redis://", "no host"),
        ("redis://h:0", "port"),
        ("redis://h:99999", "port"),
        ("redis://h:abc", "port"),
        ("redis://h/x", "database"),
        ("redis://h/-1", "database"),
        ("redis://user@h", "without a password"),
        ("redis://u:p%zz@h", "hex digits"),
        ("redis://::1:6379", "brackets"),
        ("redis://[::1", "closing"),
        ("redis://h?db=1", "query"),
        ("h/3", "redis://"),
    ])
    func refused(text: String, reason: String) {
        do {
            _ = try RedisEndpoint(parsing: text)
            Issue.record("\"\(text)\" was accepted")
        } catch {
            #expect(error.kind == .invalidEndpoint)
            #expect(error.message.contains(reason), "\(error.message)")
        }
    }

    @Test func thePasswordIsNeverShown() {
        let endpoint = RedisEndpoint(host: "h", username: "app", password: "hunter2", database: 1)
        #expect(endpoint.description == "redis://app:***@h:6379/1")
        do {
            _ = try RedisEndpoint(parsing: "redis://app:hunter2@h:0")
        } catch {
            #expect(!error.message.contains("hunter2"), "\(error.message)")
        }
    }
}
