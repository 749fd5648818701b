// The running proxy as a Service: listeners, housekeeping, reload, pause, and safe shutdown.
import Config
import SessionCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

public final class Proxy: Service, Sendable {
    let runtime: ProxyRuntime
    let configPath: String
    let environment: [String: String]
    let sink: LogSink
    private let listeners = NIOLockedValueBox<[Channel]>([])

    public init(configPath: String, environment: [String: String], sink: LogSink, logger: Logger) throws(ConfigErrors) {
        let loaded = try LoadedConfig.load(path: configPath, environment: environment)
        for w in loaded.warnings { logger.warning("\(w)") }
        let threads = EventLoopCount.resolve(configured: loaded.config.int("threads"), cores: System.coreCount)
        self.runtime = ProxyRuntime(loaded: loaded, threads: threads, logger: logger, environment: environment)
        self.configPath = configPath
        self.environment = environment
        self.sink = sink
    }

    public var logger: Logger { runtime.logger }

    public func run() async throws {
        runtime.control = ProxyControl(
            reload: { [self] in reload() },
            shutdown: { [self] mode in
                switch mode {
                case .immediate:
                    logger.info("SHUTDOWN from the admin console, exiting immediately")
                    removePidfile()
                    exit(0)
                case .waitForServers:
                    setPaused(true)
                    kill(getpid(), SIGTERM)
                case .waitForClients:
                    kill(getpid(), SIGTERM)
                }
            })
        try await bind()
        let statusPort = startStatusPort()
        writePidfile()
        startCacheSubscription()
        let janitor = runtime.loops[0].scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [runtime] _ in
            for pool in runtime.allPools { pool.tick() }
            runtime.checkCacheCatalogs()
            runtime.remoteCache?.resync(now: runtime.now())
        }
        // Each loop sweeps its own clients for timeouts: no lock, no hop.
        let sweeps = runtime.loops.map { loop in
            loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [runtime] _ in
                let limits = ClientTimeoutLimits(runtime.settings)
                guard limits.any else { return }
                let now = NIODeadline.now()
                for client in runtime.connections(on: loop).clients.values { client.checkTimeouts(limits, now: now) }
            }
        }
        // Health checks of host lists: each host when its last check started health_check_period ago (read at every
        // tick, so a reload or SET takes effect). Ticks are short so that a period of a second is kept to within them.
        let checks = runtime.loops[0].scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(100)) { [runtime] _ in
            runtime.checkNodes()
        }
        let period = Int64(max(runtime.settings.statsPeriod, 1) * 1000)
        let sampler = runtime.loops[0].scheduleRepeatedTask(initialDelay: .milliseconds(period), delay: .milliseconds(period)) { [runtime] _ in
            runtime.stats.sample(runtime)
        }
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1, .sigusr2, .sigquit)
        // Signals keep being handled while clients drain, so SIGQUIT still exits at once then.
        let signalTask = Task { [self] in
            for await signal in signals {
                switch signal {
                case .sighup: reload()
                case .sigusr1: setPaused(true)
                case .sigusr2: setPaused(false)
                case .sigquit:
                    logger.info("got SIGQUIT, exiting immediately")
                    removePidfile()
                    exit(0)
                default: break
                }
            }
        }
        try? await gracefulShutdown()
        runtime.draining.store(true, ordering: .relaxed)
        logger.info("got shutdown signal: no new connections; waiting up to \(runtime.config.seconds("shutdown_timeout"))s for clients to finish")
        closeListeners()
        janitor.cancel()
        checks.cancel()
        sampler.cancel()
        for s in sweeps { s.cancel() }
        await drain()
        signalTask.cancel()
        // Health answers for as long as clients are being drained; only then does the status port stop.
        await statusPort?.stop()
        removePidfile()
        runtime.remoteCache?.stop()
        runtime.memcachedCache?.stop()
        try? await runtime.group.shutdownGracefully()
    }

    private func bind() async throws {
        let c = runtime.config
        let port = c.int("listen_port")
        var channels: [Channel] = []
        for addr in c.list("listen_addr") {
            let host = addr == "*" ? "0.0.0.0" : addr
            let ch = try await bootstrap(tcp: true).bind(host: host, port: port).get()
            logger.info("listening on \(host):\(port)")
            channels.append(ch)
        }
        let dir = c.string("unix_socket_dir")
        if !dir.isEmpty {
            let path = "\(dir)/.s.PGSQL.\(port)"
            // A socket file left by a crashed run would make bind fail; a live one would have answered our port.
            unlink(path)
            let ch = try await bootstrap(tcp: false).bind(unixDomainSocketPath: path).get()
            if let mode = mode_t(c.string("unix_socket_mode"), radix: 8) { chmod(path, mode) }
            logger.info("listening on unix:\(path)")
            channels.append(ch)
        }
        if channels.isEmpty { logger.warning("no listen_addr and no unix_socket_dir: nothing to listen on") }
        listeners.withLockedValue { $0 = channels }
    }

    /// A child option the socket refuses closes every accepted connection, so TCP options go on TCP listeners only.
    private func bootstrap(tcp: Bool) -> ServerBootstrap {
        let runtime = self.runtime
        let c = runtime.config
        var b = ServerBootstrap(group: runtime.group)
            .serverChannelOption(.backlog, value: Int32(c.int("listen_backlog")))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: true)
            // Each idle client keeps its last receive buffer: start small (it grows for clients that send a lot),
            // since PgBouncer-style deployments hold thousands of mostly idle clients.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
        if tcp && c.bool("so_reuseport") {
            b = b.serverChannelOption(ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
        }
        if tcp {
            b = b.childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.socketOption(.so_keepalive), value: c.bool("tcp_keepalive") ? 1 : 0)
        }
        return b
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ClientAcceptor(runtime: runtime))
                }
            }
    }

    private func closeListeners() {
        let chans = listeners.withLockedValue { l -> [Channel] in defer { l = [] }; return l }
        for ch in chans { ch.close(promise: nil) }
        let dir = runtime.config.string("unix_socket_dir")
        if !dir.isEmpty { unlink("\(dir)/.s.PGSQL.\(runtime.config.int("listen_port"))") }
    }

    /// Waits for clients to leave, up to shutdown_timeout, then lets the event loops close the rest.
    private func drain() async {
        let deadline = runtime.now() + runtime.config.seconds("shutdown_timeout")
        while runtime.clientCount > 0 && runtime.now() < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        if runtime.clientCount > 0 { logger.info("shutdown_timeout reached with \(runtime.clientCount) clients still connected; closing them") }
        for pool in runtime.allPools { pool.closeIdle() }
    }

    @discardableResult
    public func reload() -> Bool {
        do {
            let loaded = try LoadedConfig.load(path: configPath, environment: environment)
            runtime.swap(loaded)
            sink.reopen(loaded.config.string("logfile"))
            for w in loaded.warnings { logger.warning("\(w)") }
            logger.info("config reloaded from \(configPath)")
            return true
        } catch {
            logger.error("reload failed, keeping the previous config:\n\(error.description)")
            return false
        }
    }

    func setPaused(_ on: Bool) {
        runtime.setPaused(on)
        logger.info(on ? "pausing: new clients wait for RESUME (SIGUSR2)" : "resuming")
    }

    private func writePidfile() {
        let path = runtime.config.string("pidfile")
        guard !path.isEmpty else { return }
        _ = FileManager.default.createFile(atPath: path, contents: Data("\(getpid())\n".utf8))
    }

    private func removePidfile() {
        let path = runtime.config.string("pidfile")
        if !path.isEmpty { unlink(path) }
    }
}

/// Installs the ClientConnection once the channel is live (it needs the context to start).
final class ClientAcceptor: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let runtime: ProxyRuntime

    init(runtime: ProxyRuntime) { self.runtime = runtime }

    func handlerAdded(context: ChannelHandlerContext) {
        let client = ClientConnection(context: context, runtime: runtime, tlsAvailable: runtime.loaded.clientTLS != nil)
        do {
            try context.pipeline.syncOperations.addHandler(client)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }
}
