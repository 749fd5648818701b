// SHOW NODES' rows, also read by /metrics: each host of the entries with several hosts as checks and connects found it.
import AdminConsole
import Routing

extension ProxyRuntime {
    /// The hosts of entries with several hosts, with what the registry knows and each loop's servers on them (SHOW
    /// NODES, /metrics).
    func nodeRows() async throws -> [AdminNode] {
        struct Count: Sendable {
            var address: ServerAddress
            var linked: Bool
        }
        let counts = try await gather { loop in loop.servers.values.map { Count(address: $0.address, linked: $0.isLinked) } }.get()
        let records = nodes.snapshot
        let config = self.config
        let now = self.now()
        var out: [AdminNode] = []
        for (name, entry) in config.databases.sorted(by: { $0.key < $1.key }) where name != "*" && entry.hosts.count > 1 {
            let addresses = entry.addresses(defaultHost: ProxyRuntime.serverHost(entry, config)).map { ServerAddress(host: $0.host, port: $0.port) }
            // Lag is measured against the entry's primary as its last check found it, if that check passed (an old
            // primary that stopped answering keeps its last observation, which must not serve).
            let primaryLSN = addresses.compactMap { a -> NodeObservation? in
                guard let r = records[a], r.lastError == nil, r.health.isUp, r.observation?.role == .primary else { return nil }
                return r.observation
            }.first?.lsn
            for address in addresses {
                let record = records[address]
                let observation = record?.observation
                let state = nodes.isDrained(database: name, address: address) ? "drained"
                    : nodes.isFenced(database: name, address: address) ? "stale"
                    : record?.lastCheck == nil ? "unchecked" : (record?.health.isUp == false ? "down" : "up")
                var lagBytes: Int?
                var lagMs: Int?
                if let observation, observation.role == .replica {
                    if let primaryLSN { lagBytes = Int(clamping: NodeCheck.lagBytes(primary: primaryLSN, replica: observation.lsn)) }
                    lagMs = Int((observation.replayDelay * 1000).rounded())
                }
                out.append(AdminNode(
                    database: name, host: address.host, port: address.port, role: observation?.role.rawValue ?? "unknown", state: state,
                    circuit: record?.health.circuit(at: now).name ?? "closed", walPosition: observation.map { Self.lsnText($0.lsn) },
                    lagBytes: lagBytes, lagMilliseconds: lagMs,
                    activeServers: counts.filter { $0.address == address && $0.linked }.count,
                    idleServers: counts.filter { $0.address == address && !$0.linked }.count,
                    checkedSecondsAgo: record?.lastCheck.map { Int(now - $0) }, lastError: record?.lastError))
            }
        }
        return out
    }

    /// A WAL position as PostgreSQL writes it.
    static func lsnText(_ lsn: UInt64) -> String {
        String(lsn >> 32, radix: 16, uppercase: true) + "/" + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }
}
