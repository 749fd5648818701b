// RedisCluster against three real redis-server nodes: routing by slot, MOVED, and ASK during a slot migration.
import LocalServers
import Foundation
import NIOCore
import NIOPosix
@testable import RedisClient
import Testing

@Suite("Redis Cluster (three real redis-server nodes)")
struct RedisClusterLiveTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    static let ranges = [0...5460, 5461...10922, 10923...16383]

    /// Three empty cluster nodes, each given a third of the slots and introduced to the others by hand
    /// (what `redis-cli --cluster create` does), then awaited until every node agrees.
    private func withCluster(_ body: ([LocalServer], [RedisConnection]) async throws -> Void) async throws {
        var servers: [LocalServer] = []
        var directories: [URL] = []
        var busPorts: [Int] = []
        defer {
            for server in servers { server.stop() }
            for directory in directories { try? FileManager.default.removeItem(at: directory) }
        }
        for _ in Self.ranges {
            let busPort = try await LocalServer.freePort()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-cluster-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            directories.append(directory)
            busPorts.append(busPort)
            servers.append(try await LocalServer.start("redis-server", package: "redis-server") { port in
                LocalServer.redisArguments(port: port) + [
                    "--cluster-enabled", "yes", "--cluster-port", "\(busPort)", "--dir", directory.path,
                    "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                ]
            })
        }
        var connections: [RedisConnection] = []
        defer { for connection in connections { _ = connection.close() } }
        for server in servers { connections.append(try await within(RedisConnection.connect(to: server.redis, on: loop))) }
        for (connection, range) in zip(connections, Self.ranges) {
            let reply = try await within(connection.send("CLUSTER", "ADDSLOTSRANGE", "\(range.lowerBound)", "\(range.upperBound)"))
            #expect(reply == .simpleString("OK"))
        }
        // The bus port is not the default port + 10000 (that could be taken or out of range), so MEET names it.
        for (server, busPort) in zip(servers, busPorts).dropFirst() {
            let reply = try await within(connections[0].send("CLUSTER", "MEET", "127.0.0.1", "\(server.port)", "\(busPort)"))
            #expect(reply == .simpleString("OK"))
        }
        try await waitUntilAgreed(connections)
        try await body(servers, connections)
    }

    private func waitUntilAgreed(_ connections: [RedisConnection]) async throws {
        for _ in 0..<200 {
            var agreed = true
            for connection in connections {
                let info = try await within(connection.send("CLUSTER", "INFO")).string ?? ""
                let slots = try await within(connection.send("CLUSTER", "SLOTS"))
                if !info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:3") { agreed = false }
                if case .array(let ranges?) = slots, ranges.count == 3 {} else { agreed = false }
            }
            if agreed { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the three nodes did not form a cluster within 20 s")
    }

    /// The first of prefix0, prefix1... whose slot is in `range`.
    private func key(in range: ClosedRange<Int>, prefix: String) -> String {
        var index = 0
        while !range.contains(RedisKeySlot.slot(for: "\(prefix)\(index)")) { index += 1 }
        return "\(prefix)\(index)"
    }

    @Test func routesBySlotFollowsMovedAndAsk() async throws {
        try await withCluster { servers, nodes in
            let cluster = try await within(RedisCluster.connect(seeds: [servers[0].redis], on: loop))
            defer { _ = cluster.close() }
            #expect(try await within(cluster.node(forSlot: 0))?.port == servers[0].port)
            #expect(try await within(cluster.node(forSlot: 16383))?.port == servers[2].port)

            for index in 0..<300 {
                let value = ByteBuffer(bytes: [UInt8(index & 0xFF), 13, 10, 0])
                #expect(try await within(cluster.set(key: "key:\(index)", value: value)) == .simpleString("OK"))
            }
            for index in 0..<300 {
                #expect(try await within(cluster.get("key:\(index)")) == .bulk(ByteBuffer(bytes: [UInt8(index & 0xFF), 13, 10, 0])))
            }

            // Asked directly, the wrong node redirects; the cluster client follows it even when told the wrong slot.
            let far = key(in: Self.ranges[2], prefix: "far")
            _ = try await within(cluster.set(key: far, value: ByteBuffer(string: "v")))
            let direct = try await within(nodes[0].get(far))
            #expect(direct.errorMessage?.hasPrefix("MOVED \(RedisKeySlot.slot(for: far)) ") == true, "\(direct)")
            #expect(try await within(cluster.send([ByteBuffer(string: "GET"), ByteBuffer(string: far)], slot: 0)) == .bulk(ByteBuffer(string: "v")))

            // Migrate an empty slot from node 0 to node 1: while it migrates, node 0 answers ASK for keys it lacks.
            let moving = key(in: Self.ranges[0], prefix: "moving")
            let slotNumber = RedisKeySlot.slot(for: moving)
            let slot = "\(slotNumber)"
            let ids = try await nodes.asyncMap { try await within($0.send("CLUSTER", "MYID")).string ?? "" }
            #expect(try await within(nodes[1].send("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[0])) == .simpleString("OK"))
            #expect(try await within(nodes[0].send("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[1])) == .simpleString("OK"))
            #expect(try await within(cluster.set(key: moving, value: ByteBuffer(string: "asked"))) == .simpleString("OK"))
            #expect(try await within(cluster.get(moving)) == .bulk(ByteBuffer(string: "asked")))
            #expect(try await within(cluster.node(forSlot: slotNumber))?.port == servers[0].port)

            // Once the slot belongs to node 1, node 0 answers MOVED and the client relearns the map.
            for node in nodes {
                #expect(try await within(node.send("CLUSTER", "SETSLOT", slot, "NODE", ids[1])) == .simpleString("OK"))
            }
            #expect(try await within(cluster.get(moving)) == .bulk(ByteBuffer(string: "asked")))
            #expect(try await within(cluster.node(forSlot: slotNumber))?.port == servers[1].port)
        }
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
