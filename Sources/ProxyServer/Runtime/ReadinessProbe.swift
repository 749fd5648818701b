// Is each configured database's server up? A PostgreSQL-level answer (SSLRequest) from each, cached for a second.
import Config
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StatusHTTP

/// Asks each database's server for its one-byte SSLRequest answer ('S' or 'N'): that is PostgreSQL (not just an open
/// port) and needs no login. Results are kept for a second, so probes hitting /ready often cost the servers nothing.
final class ReadinessProbe: Sendable {
    private let runtime: ProxyRuntime
    private let cache = NIOLockedValueBox<(at: NIODeadline, result: [DatabaseReadiness])?>(nil)

    init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    func check() async -> [DatabaseReadiness] {
        if let c = cache.withLockedValue({ $0 }), NIODeadline.now() - c.at < .seconds(1) { return c.result }
        let config = runtime.config
        var targets: [(name: String, addresses: [ServerAddress])] = []
        var fromChecks: [DatabaseReadiness] = []
        for (name, entry) in config.databases.sorted(by: { $0.key < $1.key }) where name != "*" {
            let addresses = ProxyRuntime.serverAddresses(entry, config)
            // A host list its health checks have seen: ready while it has a reachable primary.
            if addresses.count > 1, let known = primaryReadiness(name, addresses) {
                fromChecks.append(known)
                continue
            }
            targets.append((name, addresses))
        }
        let timeout = max(min(config.seconds("server_connect_timeout"), 5), 0.5)
        let result = await withTaskGroup(of: (Int, DatabaseReadiness).self) { group in
            for (i, t) in targets.enumerated() {
                group.addTask { (i, await self.probe(name: t.name, addresses: t.addresses, timeout: timeout)) }
            }
            var out = [DatabaseReadiness?](repeating: nil, count: targets.count)
            for await (i, r) in group { out[i] = r }
            return out.compactMap { $0 }
        }
        let all = (result + fromChecks).sorted { $0.name < $1.name }
        cache.withLockedValue { $0 = (NIODeadline.now(), all) }
        return all
    }

    /// From the health checks, when any host of the list has been checked: a list with a primary among its hosts
    /// is ready when one is a primary that is up and not fenced or drained; a list of replicas only (read-only
    /// pools), when one of them is. Otherwise not, saying what each host is. Nil before any check ended.
    private func primaryReadiness(_ name: String, _ hosts: [ServerAddress]) -> DatabaseReadiness? {
        let records = runtime.nodes.snapshot
        // Only while checks run and are recent (not after SET health_check_period = 0, nor with no login to check
        // with): otherwise the hosts are probed as any database's server is.
        let s = runtime.settings
        let fresh = s.healthCheckPeriod > 0 ? 3 * s.healthCheckPeriod + s.healthCheckTimeout : 0
        let now = runtime.now()
        guard hosts.contains(where: { records[$0]?.lastCheck.map { now - $0 <= fresh } == true }) else { return nil }
        // A primary once seen keeps that role in its last observation, so its loss makes the list not ready.
        let wantsPrimary = hosts.contains { records[$0]?.observation?.role == .primary }
        var seen: [String] = []
        for address in hosts {
            let record = records[address]
            let closed = runtime.nodes.isClosed(database: name, address: address)
            if let current = record?.current, !closed, !wantsPrimary || current.role == .primary {
                return DatabaseReadiness(name: name, endpoint: "\(address)", reachable: true)
            }
            let what = closed ? "fenced or drained" : record?.lastError.map { "down (\($0))" } ?? record?.observation?.role.rawValue ?? "not checked yet"
            seen.append("\(address) \(what)")
        }
        return DatabaseReadiness(name: name, endpoint: hosts.map(\.description).joined(separator: ","), reachable: false,
                                 detail: (wantsPrimary ? "no reachable primary: " : "no reachable host: ") + seen.joined(separator: "; "))
    }

    /// A database with a host list is ready when one of its hosts answers (pgswift then connects there); the others'
    /// failures are named only when none does.
    private func probe(name: String, addresses: [ServerAddress], timeout: Double) async -> DatabaseReadiness {
        guard addresses.count > 1 else { return await probe(name: name, host: addresses[0].host, port: addresses[0].port, timeout: timeout) }
        // All at once: a host that never answers costs the probe one timeout, not one per host.
        let results = await withTaskGroup(of: (Int, DatabaseReadiness).self) { group in
            for (i, a) in addresses.enumerated() {
                group.addTask { (i, await self.probe(name: name, host: a.host, port: a.port, timeout: timeout)) }
            }
            var out = [DatabaseReadiness?](repeating: nil, count: addresses.count)
            for await (i, r) in group { out[i] = r }
            return out.compactMap { $0 }
        }
        if let up = results.first(where: \.reachable) { return up }
        let failures = results
        guard failures.count > 1 else { return failures[0] }
        return DatabaseReadiness(name: name, endpoint: failures.map(\.endpoint).joined(separator: ","), reachable: false,
                                 detail: failures.map { "\($0.endpoint): \($0.detail)" }.joined(separator: "; "))
    }

    private func probe(name: String, host: String, port: Int, timeout: Double) async -> DatabaseReadiness {
        let unix = host.hasPrefix("/")
        let endpoint = unix ? "\(host)/.s.PGSQL.\(port)" : "\(host):\(port)"
        let answer = runtime.loops[0].makePromise(of: UInt8.self)
        let bootstrap = ClientBootstrap(group: runtime.loops[0])
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(SSLRequestAnswer(answer)) }
            }
        do {
            let channel = try await (unix ? bootstrap.connect(unixDomainSocketPath: endpoint) : bootstrap.connect(host: host, port: port)).get()
            let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
                answer.fail(ProbeError(message: "no answer within \(timeout)s"))
            }
            defer {
                timer.cancel()
                channel.close(promise: nil)
            }
            let byte = try await answer.futureResult.get()
            guard byte == UInt8(ascii: "S") || byte == UInt8(ascii: "N") else {
                return DatabaseReadiness(name: name, endpoint: endpoint, reachable: false, detail: "not a PostgreSQL server (answered \(byte))")
            }
            return DatabaseReadiness(name: name, endpoint: endpoint, reachable: true)
        } catch {
            answer.fail(ProbeError(message: "gone"))
            return DatabaseReadiness(name: name, endpoint: endpoint, reachable: false, detail: "\(error)")
        }
    }
}

struct ProbeError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Sends SSLRequest on connect and reports the first byte of the answer.
private final class SSLRequestAnswer: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let answer: EventLoopPromise<UInt8>

    init(_ answer: EventLoopPromise<UInt8>) {
        self.answer = answer
    }

    func channelActive(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 8)
        out.writeInteger(Int32(8))
        out.writeInteger(Int32(80_877_103))
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let byte = buffer.readInteger(as: UInt8.self) { answer.succeed(byte) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(ProbeError(message: "closed without an answer"))
    }
}
