// The memcached servers to spread keys over, read from "host:port,host:port".
public struct MemcachedServers: Sendable, Hashable, CustomStringConvertible {
    public static let defaultPort = 11211

    public struct Server: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int = MemcachedServers.defaultPort) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public let servers: [Server]

    public init(_ servers: [Server]) throws(MemcachedError) {
        guard !servers.isEmpty else { throw MemcachedError(.invalidServers, "no memcached server given") }
        self.servers = servers
    }

    /// Comma-separated `host[:port]` (default port 11211); an IPv6 host goes in brackets, as `[::1]:11211`.
    public init(parsing text: String) throws(MemcachedError) {
        var servers: [Server] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = item.filter { !$0.isWhitespace }
            guard !entry.isEmpty else {
                throw Self.invalid(text, text.allSatisfy(\.isWhitespace) ? "the list is empty" : "an entry between commas is empty")
            }
            let server = try Self.server(Substring(entry), in: text)
            guard !servers.contains(server) else { throw Self.invalid(text, "\(server) is listed twice") }
            servers.append(server)
        }
        try self.init(servers)
    }

    public var description: String { servers.map(\.description).joined(separator: ",") }

    private static func server(_ entry: Substring, in text: String) throws(MemcachedError) -> Server {
        var host: Substring, portText: Substring?
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { throw invalid(text, "\"\(entry)\" is missing its closing \"]\"") }
            host = entry[entry.index(after: entry.startIndex)..<close]
            let after = entry[entry.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid(text, "unexpected \"\(after)\" after \"\(host)\"") }
                portText = after.dropFirst()
            }
        } else {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw invalid(text, "\"\(entry)\": an IPv6 address must be written in brackets, as [::1]:11211") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { throw invalid(text, "\"\(entry)\" has no host") }
        guard let portText else { return Server(host: String(host)) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw invalid(text, "the port \"\(portText)\" of \"\(entry)\" is not a number from 1 to 65535")
        }
        return Server(host: String(host), port: port)
    }

    private static func invalid(_ text: String, _ reason: String) -> MemcachedError {
        MemcachedError(.invalidServers, "invalid memcached server list \"\(text)\": \(reason)")
    }
}
