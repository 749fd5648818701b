// A ProxyRuntime on one embedded event loop whose servers are in-memory channels: the real ClientConnection and
// ServerConnection run as in production while the test plays the clients and PostgreSQL.
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import PGWire
import Testing
@testable import ProxyServer

/// What the runtime dialled, in order. Touched only on the test's thread, which is the embedded loop's.
final class DialLog: @unchecked Sendable {
    var servers: [Peer] = []
    var cancels: [Peer] = []
    var dials: [Dial] = []
    /// "host:port" of servers that refuse connections: dialling them fails as a refused TCP connect does.
    var refused: Set<String> = []
}

struct ConnectionRefused: Error, CustomStringConvertible {
    var description: String { "connection refused" }
}

final class ProxyHarness {
    static let database = "app", user = "app_user", password = "secret"
    static let serverHost = "db.test", serverPort = 5433, serverDatabase = "appdb"
    static let serverParameters = [("server_version", "16.4"), ("client_encoding", "UTF8"), ("DateStyle", "ISO, MDY"),
                                   ("integer_datetimes", "on")]

    /// The runtime's event loops; a client or server on one reaches one on another only through `execute`.
    let loops: [EmbeddedEventLoop]
    var loop: EmbeddedEventLoop { loops[0] }
    let runtime: ProxyRuntime
    let log: DialLog
    private let directory: URL
    private var clients: [Peer] = []

    /// `settings` go into [pgswift] over the defaults below (transaction mode, pool of 2, the userlist's plain password).
    /// `loops`: the runtime's event loops (servers open on the loop of the client that asked). `servers`: the
    /// database entry's connection string, when not the one server at serverHost:serverPort.
    init(_ settings: [String: String] = [:], loops count: Int = 1, servers: String? = nil, refused: Set<String> = []) throws {
        let loops = (0..<count).map { _ in EmbeddedEventLoop() }
        self.loops = loops
        // Every loop in turn, until a pass finds nothing more to do (a hop may start another on the first loop).
        let runLoops: @Sendable () -> Void = {
            for _ in 0..<8 {
                for l in loops { l.run() }
            }
        }
        self.runLoops = runLoops
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgswift-handler-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let userlist = directory.appendingPathComponent("userlist.txt")
        try Data("\"\(Self.user)\" \"\(Self.password)\"\n".utf8).write(to: userlist)
        let base = ["auth_type": "trust", "auth_file": userlist.path, "pool_mode": "transaction", "default_pool_size": "2",
                    "server_tls_sslmode": "disable", "unix_socket_dir": ""]
        let lines = base.merging(settings) { _, given in given }.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }
        let ini = """
            [databases]
            \(Self.database) = \(servers ?? "host=\(Self.serverHost) port=\(Self.serverPort)") dbname=\(Self.serverDatabase)

            [pgswift]
            \(lines.joined(separator: "\n"))

            """
        let path = directory.appendingPathComponent("pgswift.ini")
        try Data(ini.utf8).write(to: path)
        let loaded = try LoadedConfig.load(path: path.path, environment: [:])
        let log = DialLog()
        log.refused = refused
        self.log = log
        // Each dial is a fresh embedded channel on the runtime's loop, made active at once as a connected socket is.
        let dialer = ServerDialer { dial, loop, initialize in
            log.dials.append(dial)
            if log.refused.contains("\(dial.host):\(dial.port)") { return loop.makeFailedFuture(ConnectionRefused()) }
            let channel = EmbeddedChannel(loop: loop as! EmbeddedEventLoop)
            if let initialize {
                // Completes at once on an embedded loop.
                _ = initialize(channel)
            }
            switch dial.purpose {
            case .session: log.servers.append(Peer(channel, runLoops: runLoops))
            case .cancel, .healthCheck: log.cancels.append(Peer(channel, runLoops: runLoops))
            }
            channel.connect(to: try! SocketAddress(ipAddress: "192.0.2.1", port: dial.port), promise: nil)
            return loop.makeSucceededFuture(channel as Channel)
        }
        let group: any EventLoopGroup = count == 1 ? loops[0] : EmbeddedLoops(loops)
        runtime = ProxyRuntime(loaded: loaded, group: group, dialer: dialer,
                               logger: Logger(label: "ProxyServerTests") { _ in SwiftLogNoOpLogHandler() })
    }

    private let runLoops: @Sendable () -> Void

    /// A client accepted as the listener accepts one (through ClientAcceptor) on loop `onLoop`, its StartupMessage sent.
    func connectClient(onLoop index: Int = 0) throws -> Peer {
        let channel = EmbeddedChannel(loop: loops[index])
        try channel.pipeline.syncOperations.addHandler(ClientAcceptor(runtime: runtime))
        channel.connect(to: try SocketAddress(ipAddress: "192.0.2.9", port: 40000 + clients.count), promise: nil)
        let peer = Peer(channel, runLoops: runLoops)
        clients.append(peer)
        try peer.send(Wire.bytes(StartupPacket.startup(major: 3, minor: 0, parameters: [
            StartupParameter(name: "user", value: Self.user), StartupParameter(name: "database", value: Self.database),
        ])))
        return peer
    }

    func handler(of client: Peer) throws -> ClientConnection {
        try client.channel.pipeline.syncOperations.handler(type: ClientConnection.self)
    }

    /// What a client hears once logged in: the server's parameters (sorted, as pgswift sends them), the key pgswift
    /// gave it (not the server's), ReadyForQuery.
    func welcome(_ client: Peer, parameters: [(String, String)] = ProxyHarness.serverParameters) throws -> [BackendMessage] {
        let startup = try handler(of: client).startup
        return [.authentication(.ok)] + parameters.sorted { $0.0 < $1.0 }.map { BackendMessage.parameterStatus(name: $0.0, value: $0.1) }
            + [.backendKeyData(processID: startup.cancelPID, secretKey: startup.cancelSecret), .readyForQuery(.idle)]
    }

    var pool: ServerPool {
        get throws {
            guard let pool = runtime.allPools.first else { throw HarnessError.noPool }
            return pool
        }
    }

    /// The pool as SHOW POOLS counts it.
    var counts: ServerPool.Counts {
        get throws { try pool.counts(now: runtime.now()) }
    }

    /// The connections SHOW CLIENTS and SHOW SERVERS list.
    var registry: LoopConnections { runtime.connections(on: loop) }

    /// The connections on loop `index`.
    func registry(onLoop index: Int) -> LoopConnections { runtime.connections(on: loops[index]) }

    /// Closes whatever is still open, runs what that hands on, and stops the loop (its timers cancelled).
    /// A client whose welcome waited for the first server, which logged in as pid 4242 with key 77; the welcome is read.
    func clientOnFirstServer() throws -> (client: Peer, server: Peer) {
        let client = try connectClient()
        let server = try #require(log.servers.first)
        try server.acceptLogin(pid: 4242, secret: 77)
        _ = client.received()
        return (client, server)
    }

    func finish() {
        for peer in clients + log.servers + log.cancels { peer.channel.close(promise: nil) }
        runLoops()
        for l in loops { try? l.syncShutdownGracefully() }
        try? FileManager.default.removeItem(at: directory)
    }

    enum HarnessError: Error {
        case noPool
    }
}
