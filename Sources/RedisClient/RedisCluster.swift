// Redis Cluster routing: one connection per node, single-key commands sent to the node that owns the key's slot.
import NIOCore
import NIOPosix

/// All state lives on one event loop, so routing needs no lock and a connection's futures complete where the
/// state is. Every node is logged in to with the first seed's user and password.
public final class RedisCluster: Sendable {
    static let maxRedirections = 5

    public let eventLoop: EventLoop
    private let template: RedisEndpoint
    private let seeds: [RedisNodeAddress]
    private let timeout: TimeAmount
    private let replyTimeout: TimeAmount?
    private let state: NIOLoopBoundBox<State>

    private enum NodeConnection {
        case connecting(EventLoopFuture<RedisConnection>)
        case ready(RedisConnection)
    }

    private struct State {
        var slots = [RedisNodeAddress?](repeating: nil, count: RedisKeySlot.count)
        var nodes: [RedisNodeAddress: NodeConnection] = [:]
        var refreshing: EventLoopFuture<Void>?
        var closed = false
    }

    private init(seeds: [RedisEndpoint], eventLoop: EventLoop, timeout: TimeAmount, replyTimeout: TimeAmount?) {
        self.eventLoop = eventLoop
        template = seeds[0]
        self.seeds = seeds.map { RedisNodeAddress(host: $0.host, port: $0.port) }
        self.timeout = timeout
        self.replyTimeout = replyTimeout
        state = .makeBoxSendingValue(State(), as: State.self, eventLoop: eventLoop)
    }

    /// Learns the slot map from the first seed that answers CLUSTER SLOTS.
    public static func connect(
        seeds: [RedisEndpoint], on eventLoop: EventLoop, timeout: TimeAmount = .seconds(5), replyTimeout: TimeAmount? = nil
    ) -> EventLoopFuture<RedisCluster> {
        guard let first = seeds.first else { return eventLoop.makeFailedFuture(RedisClientError(.cluster, "no seed node given")) }
        guard first.database == 0 else {
            return eventLoop.makeFailedFuture(RedisClientError(.cluster, "Redis Cluster has only database 0, but \(first) asks for another"))
        }
        let cluster = RedisCluster(seeds: seeds, eventLoop: eventLoop, timeout: timeout, replyTimeout: replyTimeout)
        return cluster.refreshSlots().map { cluster }.flatMapError { error in
            cluster.close().flatMapThrowing { throw error }
        }
    }

    /// Sends a command that touches only `key` to the node owning the key's slot, following MOVED and ASK.
    public func send(_ arguments: [ByteBuffer], key: ByteBuffer) -> EventLoopFuture<RedisValue> {
        send(arguments, slot: RedisKeySlot.slot(for: key.readableBytesView))
    }

    public func send(_ arguments: [ByteBuffer], slot: Int) -> EventLoopFuture<RedisValue> {
        guard (0..<RedisKeySlot.count).contains(slot) else {
            return eventLoop.makeFailedFuture(RedisClientError(.cluster, "slot \(slot) is outside 0...\(RedisKeySlot.count - 1)"))
        }
        return onLoop { self.route(arguments, slot: slot, redirections: 0) }
    }

    public func get(_ key: String) -> EventLoopFuture<RedisValue> {
        send([ByteBuffer(string: "GET"), ByteBuffer(string: key)], slot: RedisKeySlot.slot(for: key))
    }

    public func set(key: String, value: ByteBuffer, ttlMilliseconds: Int64? = nil) -> EventLoopFuture<RedisValue> {
        var arguments = [ByteBuffer(string: "SET"), ByteBuffer(string: key), value]
        if let ttlMilliseconds { arguments += [ByteBuffer(string: "PX"), ByteBuffer(string: String(ttlMilliseconds))] }
        return send(arguments, slot: RedisKeySlot.slot(for: key))
    }

    public func del(_ key: String) -> EventLoopFuture<RedisValue> {
        send([ByteBuffer(string: "DEL"), ByteBuffer(string: key)], slot: RedisKeySlot.slot(for: key))
    }

    /// The node currently believed to own `slot`, if the map knows one.
    public func node(forSlot slot: Int) -> EventLoopFuture<RedisEndpoint?> {
        onLoop {
            let owner = (0..<RedisKeySlot.count).contains(slot) ? self.state.value.slots[slot] : nil
            return self.eventLoop.makeSucceededFuture(owner.map { self.endpoint(for: $0) })
        }
    }

    /// Reloads the slot map; concurrent calls share one CLUSTER SLOTS round trip.
    public func refreshSlots() -> EventLoopFuture<Void> {
        onLoop {
            if let running = self.state.value.refreshing { return running }
            let known = self.state.value.nodes.compactMap { node, connection -> RedisNodeAddress? in
                if case .ready(let c) = connection, c.isActive { return node }
                return nil
            }
            var candidates: [RedisNodeAddress] = []
            for node in known + self.seeds where !candidates.contains(node) { candidates.append(node) }
            let refresh = self.loadSlots(from: candidates[...], lastError: nil)
            self.state.value.refreshing = refresh
            refresh.whenComplete { _ in self.state.value.refreshing = nil }
            return refresh
        }
    }

    public func close() -> EventLoopFuture<Void> {
        onLoop {
            self.state.value.closed = true
            let closing = self.state.value.nodes.values.map { connection -> EventLoopFuture<Void> in
                switch connection {
                case .ready(let c): return c.close()
                case .connecting(let future): return future.flatMap { $0.close() }.recover { _ in }
                }
            }
            self.state.value.nodes = [:]
            return EventLoopFuture.andAllComplete(closing, on: self.eventLoop)
        }
    }

    /// `target` is set after a redirection: the node named by MOVED or ASK, tried directly.
    private func route(
        _ arguments: [ByteBuffer], slot: Int, redirections: Int, target: RedisNodeAddress? = nil, asking: Bool = false
    ) -> EventLoopFuture<RedisValue> {
        guard !state.value.closed else { return eventLoop.makeFailedFuture(RedisClientError(.connectionClosed, "the cluster client is closed")) }
        // A slot the map does not cover yet: any node answers with the MOVED that teaches the owner.
        let node = target ?? state.value.slots[slot] ?? seeds[0]
        return connection(to: node).flatMap { connection in
            // On this event loop both writes enter the pipeline back to back, so ASKING applies to this very command.
            if asking { _ = connection.send([ByteBuffer(string: "ASKING")]) }
            return connection.send(arguments)
        }.flatMap { reply in
            guard let message = reply.errorMessage, let redirect = RedisRedirect(errorMessage: message, defaultHost: node.host) else {
                return self.eventLoop.makeSucceededFuture(reply)
            }
            guard redirections < Self.maxRedirections else {
                return self.eventLoop.makeFailedFuture(RedisClientError(.cluster, "gave up after \(redirections) redirections; the last was \(message)"))
            }
            switch redirect {
            case .moved(let movedSlot, let owner):
                self.state.value.slots[movedSlot] = owner
                _ = self.refreshSlots()  // one slot moved, likely more did: relearn the map in the background
                return self.route(arguments, slot: slot, redirections: redirections + 1, target: owner)
            case .ask(_, let owner):
                return self.route(arguments, slot: slot, redirections: redirections + 1, target: owner, asking: true)
            }
        }.flatMapError { error in
            // A node that went away may have failed over: the map needs relearning before the next command.
            if let error = error as? RedisClientError, error.kind == .connectFailed || error.kind == .connectionClosed || error.kind == .timeout {
                _ = self.refreshSlots()
            }
            return self.eventLoop.makeFailedFuture(error)
        }
    }

    private func loadSlots(from candidates: ArraySlice<RedisNodeAddress>, lastError: Error?) -> EventLoopFuture<Void> {
        guard let node = candidates.first else {
            let detail = lastError.map { "\($0)" } ?? "no node to ask"
            return eventLoop.makeFailedFuture(RedisClientError(.cluster, "could not learn the slot map: \(detail)"))
        }
        return connection(to: node)
            .flatMap { $0.send([ByteBuffer(string: "CLUSTER"), ByteBuffer(string: "SLOTS")]) }
            .flatMapThrowing { reply in
                self.state.value.slots = try RedisClusterSlots.parse(reply, defaultHost: node.host)
            }
            .flatMapError { error in self.loadSlots(from: candidates.dropFirst(), lastError: error) }
    }

    private func connection(to node: RedisNodeAddress) -> EventLoopFuture<RedisConnection> {
        switch state.value.nodes[node] {
        case .ready(let connection) where connection.isActive: return eventLoop.makeSucceededFuture(connection)
        case .connecting(let future): return future
        default: break
        }
        let future = RedisConnection.connect(to: endpoint(for: node), on: eventLoop, timeout: timeout, replyTimeout: replyTimeout)
        state.value.nodes[node] = .connecting(future)
        future.whenComplete { result in
            guard case .connecting = self.state.value.nodes[node] else { return }
            switch result {
            case .success(let connection):
                self.state.value.nodes[node] = .ready(connection)
                connection.closeFuture.whenComplete { _ in
                    if case .ready(let current) = self.state.value.nodes[node], current === connection { self.state.value.nodes[node] = nil }
                }
            case .failure:
                self.state.value.nodes[node] = nil
            }
        }
        return future
    }

    private func endpoint(for node: RedisNodeAddress) -> RedisEndpoint {
        var endpoint = template
        endpoint.host = node.host
        endpoint.port = node.port
        return endpoint
    }

    private func onLoop<Value: Sendable>(_ body: @escaping @Sendable () -> EventLoopFuture<Value>) -> EventLoopFuture<Value> {
        eventLoop.inEventLoop ? body() : eventLoop.flatSubmit(body)
    }
}
