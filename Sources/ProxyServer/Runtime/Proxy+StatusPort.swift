// Starts the HTTP status port (status_addr:status_port) on the proxy's own event loops.
import Logging
import ResponseOptimizer
import ServiceLifecycle
import StatusHTTP

/// The running status server: its own service group, stopped gracefully once the proxy has drained its clients.
struct StatusPortHandle: Sendable {
    let group: ServiceGroup
    let task: Task<Void, Never>

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.value
    }
}

extension Proxy {
    /// The status server, or nil when status_port is 0. A port that cannot be bound is logged, not fatal: the pooler
    /// itself keeps serving. It runs in a group of its own, detached from the proxy's, so that SIGTERM does not stop it
    /// before the clients have drained (health keeps answering meanwhile).
    func startStatusPort() -> StatusPortHandle? {
        let c = runtime.config
        let port = c.int("status_port")
        guard port > 0 else { return nil }
        let host = c.string("status_addr")
        for key in ProxyRuntime.targetKeys {
            if let text = environment[key.uppercased()], runtime.environmentTarget(key) == nil {
                logger.warning("\(key.uppercased())=\(text) ignored: expected a positive number of milliseconds up to 3600000; the config file's value is used")
            }
        }
        let probe = ReadinessProbe(runtime: runtime)
        let runtime = self.runtime
        let sources = StatusSources(readiness: { await probe.check() }, performance: { await runtime.performance(targets: runtime.slaTargets) },
                                    draining: { runtime.draining.load(ordering: .relaxed) },
                                    metrics: { await runtime.metrics?.exposition(runtime.metricsSnapshot()) ?? [] },
                                    tune: { apply in await runtime.tune(apply: apply) },
                                    adminToken: { runtime.config.string("status_admin_token") })
        // RESPONSE_COMPRESSION_ENABLED and the other ResponseOptimizer variables apply to the status port too.
        let responses: ResponseOptimizerConfiguration
        do {
            responses = try ResponseOptimizerConfiguration(environment: environment)
        } catch {
            logger.error("status port not started: \(error)")
            return nil
        }
        let app = StatusServer.application(host: host, port: port, group: runtime.group, sources: sources, responses: responses, logger: logger)
        let logger = self.logger
        logger.info("status port on http://\(host):\(port) (/health, /ready, /metrics, /api/v1/performance/metrics)")
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [],
                                                      logger: Logger(label: "pgswift.status") { _ in SwiftLogNoOpLogHandler() }))
        let task = Task.detached {
            do {
                try await group.run()
            } catch {
                logger.error("status port \(host):\(port) stopped: \(error)")
            }
        }
        return StatusPortHandle(group: group, task: task)
    }
}
