// Reading memcached server lists and refusing keys memcached's protocol cannot carry; no server needed.
import MemcachedClient
import NIOCore
import NIOPosix
import Testing

@Suite("Memcached servers and keys")
struct MemcachedServersTests {
    typealias Server = MemcachedServers.Server

    @Test(arguments: [
        ("cache1", [Server(host: "cache1")]),
        ("10.0.0.1:11311, 10.0.0.2", [Server(host: "10.0.0.1", port: 11311), Server(host: "10.0.0.2")]),
        ("[::1]:11212,[fe80::2]", [Server(host: "::1", port: 11212), Server(host: "fe80::2")]),
    ])
    func accepted(text: String, expected: [Server]) throws {
        #expect(try MemcachedServers(parsing: text).servers == expected)
    }

    @Test(arguments: [
        ("", "empty"), ("  ", "empty"), ("a,,b", "between commas"), ("a:0", "port"), ("a:70000", "port"), ("a:x", "port"),
        (":11211", "no host"), ("::1:11211", "brackets"), ("[::1", "closing"), ("a,a:11211", "twice"),
    ])
    func refused(text: String, reason: String) {
        do {
            _ = try MemcachedServers(parsing: text)
            Issue.record("\"\(text)\" was accepted")
        } catch {
            #expect(error.kind == .invalidServers)
            #expect(error.message.contains(reason), "\(error.message)")
        }
    }

    @Test(arguments: [String(repeating: "k", count: 251), "", "has space", "new\nline", "tab\t", "del\u{7F}", "nul\u{0}"])
    func badKeysAreRefusedBeforeAnyServerIsAsked(key: String) async throws {
        // Nothing listens on port 1: a key that got through would fail differently.
        let store = try MemcachedStore(servers: MemcachedServers(parsing: "127.0.0.1:1"), threadPool: .singleton)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        await #expect { _ = try await store.get(key, on: loop).get() } throws: { ($0 as? MemcachedError)?.kind == .invalidKey }
        await #expect { try await store.set(key, value: ByteBuffer(), ttlSeconds: 0, on: loop).get() } throws: {
            ($0 as? MemcachedError)?.kind == .invalidKey
        }
    }

    @Test func longestAllowedAndNonASCIIKeysPass() async throws {
        let store = try MemcachedStore(servers: MemcachedServers(parsing: "127.0.0.1:1"), threadPool: .singleton)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for key in [String(repeating: "k", count: 250), "clé-ü"] {
            await #expect { _ = try await store.get(key, on: loop).get() } throws: { ($0 as? MemcachedError)?.kind == .server }
        }
    }
}
