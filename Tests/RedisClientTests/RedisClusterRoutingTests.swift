// Redis Cluster's pure parts: the key slot function, MOVED/ASK redirections and CLUSTER SLOTS replies.
import NIOCore
@testable import RedisClient
import Testing

@Suite("Redis Cluster routing")
struct RedisClusterRoutingTests {
    @Test func crc16IsXMODEM() {
        #expect(RedisKeySlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisKeySlot.crc16([]) == 0)
    }

    /// Values from the Redis Cluster specification and `CLUSTER KEYSLOT`'s documentation.
    @Test(arguments: [("foo", 12182), ("somekey", 11058), ("foo{hash_tag}", 2515), ("123456789", 0x31C3), ("", 0)])
    func knownSlots(key: String, slot: Int) {
        #expect(RedisKeySlot.slot(for: key) == slot)
    }

    @Test func hashTags() {
        let following = RedisKeySlot.slot(for: "{user1000}.following")
        #expect(following == RedisKeySlot.slot(for: "{user1000}.followers"))
        #expect(following == RedisKeySlot.slot(for: "user1000"))
        // Only the first {...} counts; an empty {} means the whole key is hashed.
        #expect(RedisKeySlot.slot(for: "foo{bar}{zap}") == RedisKeySlot.slot(for: "bar"))
        #expect(RedisKeySlot.slot(for: "foo{{bar}}zap") == RedisKeySlot.slot(for: "{bar"))
        #expect(RedisKeySlot.slot(for: "foo{}{bar}") == RedisKeySlot.slot(for: Array("foo{}{bar}".utf8)))
        #expect(RedisKeySlot.slot(for: "foo{}{bar}") != RedisKeySlot.slot(for: "bar"))
        #expect(RedisKeySlot.slot(for: "{unclosed") != RedisKeySlot.slot(for: "unclosed"))
    }

    @Test func redirections() {
        #expect(RedisRedirect(errorMessage: "MOVED 3999 127.0.0.1:6381", defaultHost: "x")
            == .moved(slot: 3999, to: RedisNodeAddress(host: "127.0.0.1", port: 6381)))
        #expect(RedisRedirect(errorMessage: "ASK 16383 ::1:7002", defaultHost: "x")
            == .ask(slot: 16383, to: RedisNodeAddress(host: "::1", port: 7002)))
        #expect(RedisRedirect(errorMessage: "MOVED 5 :7000", defaultHost: "seed")
            == .moved(slot: 5, to: RedisNodeAddress(host: "seed", port: 7000)))
        for other in ["ERR unknown command", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0", "CLUSTERDOWN The cluster is down"] {
            #expect(RedisRedirect(errorMessage: other, defaultHost: "x") == nil, "\(other)")
        }
    }

    private func node(_ host: String, _ port: Int64) -> RedisValue {
        .array([.bulk(ByteBuffer(string: host)), .integer(port), .bulk(ByteBuffer(string: "id"))])
    }

    @Test func clusterSlotsReply() throws {
        let reply: RedisValue = .array([
            .array([.integer(0), .integer(5460), node("10.0.0.1", 7000), node("10.0.0.4", 7003)]),
            .array([.integer(5461), .integer(10922), node("", 7001)]),
            .array([.integer(10923), .integer(16383), node("?", 7002)]),
        ])
        let slots = try RedisClusterSlots.parse(reply, defaultHost: "seed")
        #expect(slots[0] == RedisNodeAddress(host: "10.0.0.1", port: 7000))
        #expect(slots[5460] == RedisNodeAddress(host: "10.0.0.1", port: 7000))
        #expect(slots[5461] == RedisNodeAddress(host: "seed", port: 7001))
        #expect(slots[10923] == nil)
    }

    @Test func malformedClusterSlotsReplies() {
        let bad: [RedisValue] = [
            .error("ERR This instance has cluster support disabled"),
            .integer(1),
            .array([.array([.integer(0), .integer(16384), node("h", 1)])]),
            .array([.array([.integer(9), .integer(3), node("h", 1)])]),
            .array([.array([.integer(0), .integer(1)])]),
            .array([.array([.integer(0), .integer(1), .array([.bulk(ByteBuffer(string: "h"))])])]),
        ]
        for reply in bad {
            #expect(throws: RedisClientError.self, "\(reply)") { try RedisClusterSlots.parse(reply, defaultHost: "x") }
        }
    }
}
