// What a Redis Cluster says about where slots live: CLUSTER SLOTS replies and MOVED/ASK redirections.
struct RedisNodeAddress: Hashable, Sendable, CustomStringConvertible {
    var host: String
    var port: Int

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `host:port` as Redis writes it in redirections; IPv6 hosts come unbracketed, so the port is after the last colon.
    /// An empty host means "the node you asked", whose host is `defaultHost`.
    init?(redisText text: Substring, defaultHost: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        self.init(host: host.isEmpty ? defaultHost : String(host), port: port)
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

enum RedisRedirect: Hashable, Sendable {
    /// The slot has moved for good: update the map.
    case moved(slot: Int, to: RedisNodeAddress)
    /// The slot is migrating: ask the other node this once, after ASKING, and keep the map.
    case ask(slot: Int, to: RedisNodeAddress)

    /// Reads `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381`; any other error is not a redirection.
    init?(errorMessage: String, defaultHost: String) {
        let words = errorMessage.split(separator: " ")
        guard words.count == 3, let slot = Int(words[1]), (0..<RedisKeySlot.count).contains(slot),
              let node = RedisNodeAddress(redisText: words[2], defaultHost: defaultHost) else { return nil }
        switch words[0] {
        case "MOVED": self = .moved(slot: slot, to: node)
        case "ASK": self = .ask(slot: slot, to: node)
        default: return nil
        }
    }
}

enum RedisClusterSlots {
    /// The slot-to-primary table from a CLUSTER SLOTS reply: `[[start, end, [host, port, id, ...], replicas...], ...]`.
    /// Replicas are ignored (the cache reads and writes primaries). A host of `?` (endpoint unknown) leaves the range out.
    static func parse(_ reply: RedisValue, defaultHost: String) throws(RedisClientError) -> [RedisNodeAddress?] {
        if let message = reply.errorMessage { throw RedisClientError(.cluster, "CLUSTER SLOTS was refused: \(message)") }
        guard case .array(let ranges?) = reply else { throw malformed("the reply is not an array") }
        var slots = [RedisNodeAddress?](repeating: nil, count: RedisKeySlot.count)
        for range in ranges {
            guard case .array(let fields?) = range, fields.count >= 3,
                  let start = fields[0].integer, let end = fields[1].integer,
                  start >= 0, start <= end, end < RedisKeySlot.count,
                  case .array(let primary?) = fields[2], primary.count >= 2,
                  let host = primary[0].string, let port = primary[1].integer, (1...65535).contains(port)
            else { throw malformed("a slot range is not [start, end, [host, port, ...]]") }
            if host == "?" { continue }
            let node = RedisNodeAddress(host: host.isEmpty ? defaultHost : host, port: Int(port))
            for slot in Int(start)...Int(end) { slots[slot] = node }
        }
        return slots
    }

    private static func malformed(_ detail: String) -> RedisClientError {
        RedisClientError(.cluster, "malformed CLUSTER SLOTS reply: \(detail)")
    }
}
