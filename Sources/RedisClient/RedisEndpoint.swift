// Where a Redis server is and how to log in to it, read from `redis://[user:password@]host[:port][/db]` or `host:port`.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public static let defaultPort = 6379

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int

    public init(host: String, port: Int = RedisEndpoint.defaultPort, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Accepts `redis://[[user]:password@]host[:port][/db]` (user and password percent-decoded, IPv6 in brackets)
    /// and a bare `host[:port]`.
    public init(parsing text: String) throws(RedisClientError) {
        let trimmed = text.trimmingWhitespace
        guard !trimmed.isEmpty else { throw Self.invalid(text, "the address is empty") }
        var rest = Substring(trimmed)
        if let schemeEnd = rest.firstRange(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            switch scheme {
            case "redis": break
            case "rediss": throw Self.invalid(text, "rediss:// (Redis over TLS) is not supported yet; use redis://")
            default: throw Self.invalid(text, "unknown scheme \"\(scheme)://\"; expected redis://")
            }
            rest = rest[schemeEnd.upperBound...]
        } else if rest.contains("/") || rest.contains("@") {
            throw Self.invalid(text, "write a URL as redis://[user:password@]host[:port][/db], or give just host:port")
        }
        if rest.contains("?") || rest.contains("#") { throw Self.invalid(text, "query parameters and fragments are not supported") }

        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var hostPort = authority
        var username: String?, password: String?
        if let at = authority.lastIndex(of: "@") {
            (username, password) = try Self.credentials(authority[..<at], in: text)
            hostPort = authority[authority.index(after: at)...]
        }
        let (host, port) = try Self.hostAndPort(hostPort, in: text)
        self.init(host: host, port: port, username: username, password: password, database: try Self.database(path, in: text))
    }

    /// The password is never shown, so an endpoint can be logged.
    public var description: String {
        let login = password == nil ? "" : "\(username ?? ""):***@"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "redis://\(login)\(shownHost):\(port)/\(database)"
    }

    private static func credentials(_ userinfo: Substring, in text: String) throws(RedisClientError) -> (String?, String?) {
        guard let colon = userinfo.firstIndex(of: ":") else {
            throw invalid(text, "a user without a password is ambiguous; write redis://:password@host or redis://user:password@host")
        }
        let user = try percentDecoded(userinfo[..<colon], in: text)
        let password = try percentDecoded(userinfo[userinfo.index(after: colon)...], in: text)
        if password.isEmpty {
            guard user.isEmpty else { throw invalid(text, "user \"\(user)\" has an empty password") }
            return (nil, nil)
        }
        return (user.isEmpty ? nil : user, password)
    }

    private static func hostAndPort(_ text: Substring, in original: String) throws(RedisClientError) -> (String, Int) {
        var host: Substring, portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid(original, "an IPv6 address is missing its closing \"]\"") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid(original, "unexpected \"\(after)\" after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw invalid(original, "an IPv6 address must be written in brackets, as [::1]:6379") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { throw invalid(original, "no host given") }
        guard let portText else { return (String(host), defaultPort) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw invalid(original, "the port \"\(portText)\" is not a number from 1 to 65535")
        }
        return (String(host), port)
    }

    private static func database(_ path: Substring, in text: String) throws(RedisClientError) -> Int {
        let number = path.drop { $0 == "/" }
        guard !number.isEmpty else { return 0 }
        guard let database = Int(number), database >= 0, database <= Int(Int32.max) else {
            throw invalid(text, "the database \"\(number)\" is not a non-negative number")
        }
        return database
    }

    private static func percentDecoded(_ text: Substring, in original: String) throws(RedisClientError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw invalid(original, "a \"%\" in the user or password is not followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The message names the input, minus any password, so the person can find the bad setting.
    private static func invalid(_ text: String, _ reason: String) -> RedisClientError {
        RedisClientError(.invalidEndpoint, "invalid Redis address \"\(redacted(text))\": \(reason)")
    }

    private static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.firstRange(of: "://"), scheme.upperBound <= at else { return text }
        let userinfo = text[scheme.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
