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
        var routed: [String: [ServerAddress: Int]] = [:]
        for pool in homePools {
            guard let counts = pool.routes?.routedCounts else { continue }
            routed[pool.key.database, default: [:]].merge(counts, uniquingKeysWith: +)
        }
        var out: [AdminNode] = []
        for (name, _, addresses) in Self.hostLists(config) {
            // Lag is measured against the entry's current primary as its last check found it, if that check passed
            // (an old primary that stopped answering keeps its last observation, which must not serve; one that came
            // back on an older timeline is fenced, and not it either).
            let primaryLSN = NodeCheck.primaryPosition(addresses.map { records[$0]?.current },
                                                       closed: addresses.map { nodes.isClosed(database: name, address: $0) })
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
                    circuit: record?.health.circuit(at: now).name ?? "closed", walPosition: observation.map { NodeCheck.lsnText($0.lsn) },
                    lagBytes: lagBytes, lagMilliseconds: lagMs,
                    activeServers: counts.filter { $0.address == address && $0.linked }.count,
                    idleServers: counts.filter { $0.address == address && !$0.linked }.count,
                    routed: routed[name]?[address] ?? 0,
                    checkedSecondsAgo: record?.lastCheck.map { Int(now - $0) }, lastError: record?.lastError))
            }
        }
        return out
    }
}
