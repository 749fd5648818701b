// Reads an auth_hba_file in pg_hba.conf syntax and picks the method for a connecting client.
import Foundation

public struct HbaRule: Sendable, Equatable {
    public enum ConnectionType: String, Sendable {
        case local, host, hostssl, hostnossl
    }

    public var type: ConnectionType
    public var databases: [String]
    public var users: [String]
    /// Address bytes and prefix length; nil means any address (and always for local).
    public var network: (bytes: [UInt8], prefix: Int)?
    public var method: String
    public var line: Int

    public static func == (a: HbaRule, b: HbaRule) -> Bool {
        a.type == b.type && a.databases == b.databases && a.users == b.users && a.method == b.method && a.line == b.line
            && a.network?.bytes == b.network?.bytes && a.network?.prefix == b.network?.prefix
    }
}

public struct HbaFile: Sendable {
    public var rules: [HbaRule]

    public static let methods: Set<String> = ["trust", "reject", "md5", "scram-sha-256", "password", "cert", "peer"]

    public static func load(path: String) throws(ConfigErrors) -> HbaFile {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigErrors([ConfigError(file: path, line: 0, key: nil, message: "cannot read auth_hba_file")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> HbaFile {
        var rules: [HbaRule] = []
        var errors: [ConfigError] = []
        var n = 0
        // "\r\n" is a single Character in Swift, so it has to be named as a separator of its own.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            n += 1
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            guard let type = HbaRule.ConnectionType(rawValue: words[0]) else {
                errors.append(ConfigError(file: file, line: n, key: nil, message: "unknown connection type \"\(words[0])\""))
                continue
            }
            var i = 3
            var network: (bytes: [UInt8], prefix: Int)?
            if type != .local {
                guard words.count >= 5 else {
                    errors.append(ConfigError(file: file, line: n, key: nil, message: "expected: type database user address method"))
                    continue
                }
                if words[3] != "all" {
                    guard let net = parseNetwork(words[3], mask: words.count >= 6 && !methods.contains(words[4]) ? words[4] : nil) else {
                        errors.append(ConfigError(file: file, line: n, key: nil, message: "invalid address \"\(words[3])\""))
                        continue
                    }
                    network = net
                    if words.count >= 6 && !methods.contains(words[4]) { i += 1 }
                }
                i += 1
            } else if words.count < 4 {
                errors.append(ConfigError(file: file, line: n, key: nil, message: "expected: local database user method"))
                continue
            }
            let method = words[i]
            guard methods.contains(method) else {
                errors.append(ConfigError(file: file, line: n, key: nil, message: "unsupported method \"\(method)\""))
                continue
            }
            rules.append(HbaRule(type: type, databases: words[1].split(separator: ",").map(String.init),
                                 users: words[2].split(separator: ",").map(String.init), network: network, method: method, line: n))
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return HbaFile(rules: rules)
    }

    /// The method of the first matching rule; nil (reject) when none matches, as in PostgreSQL.
    public func method(database: String, user: String, addressBytes: [UInt8]?, tls: Bool) -> String? {
        for r in rules {
            switch r.type {
            case .local: if addressBytes != nil { continue }
            case .host: if addressBytes == nil { continue }
            case .hostssl: if addressBytes == nil || !tls { continue }
            case .hostnossl: if addressBytes == nil || tls { continue }
            }
            guard r.databases.contains("all") || r.databases.contains(database) || (r.databases.contains("sameuser") && database == user) else { continue }
            guard r.users.contains("all") || r.users.contains(user) else { continue }
            if let net = r.network, let addr = addressBytes {
                guard Self.matches(addr, net) else { continue }
            }
            return r.method
        }
        return nil
    }

    static func matches(_ addr: [UInt8], _ net: (bytes: [UInt8], prefix: Int)) -> Bool {
        guard addr.count == net.bytes.count else { return false }
        var bits = net.prefix
        for i in 0..<addr.count where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : UInt8(0xFF << (8 - bits) & 0xFF)
            if addr[i] & mask != net.bytes[i] & mask { return false }
            bits -= 8
        }
        return true
    }

    static func parseNetwork(_ text: String, mask: String?) -> (bytes: [UInt8], prefix: Int)? {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let bytes = parseAddress(parts[0]) else { return nil }
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 0, p <= bytes.count * 8 else { return nil }
            return (bytes, p)
        }
        if let mask, let m = parseAddress(mask) {
            return (bytes, m.reduce(0) { $0 + $1.nonzeroBitCount })
        }
        return (bytes, bytes.count * 8)
    }

    public static func parseAddress(_ s: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
