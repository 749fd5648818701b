// Starts the HTTP status port (status_addr:status_port) on the proxy's own event loops.
import Logging
import StatusHTTP

extension Proxy {
    /// The status server's task, or nil when status_port is 0. A port that cannot be bound is logged, not fatal:
    /// the pooler itself keeps serving.
    func startStatusPort() -> Task<Void, Never>? {
        let c = runtime.config
        let port = c.int("status_port")
        guard port > 0 else { return nil }
        let host = c.string("status_addr")
        let probe = ReadinessProbe(runtime: runtime)
        let runtime = self.runtime
        let env = environment
        // TARGET_P50_MS and friends in the environment win over the file (a container's usual way to set them).
        let targets = { @Sendable () -> SLATargets in
            let c = runtime.config
            func target(_ key: String) -> Double { env[key.uppercased()].flatMap(Double.init) ?? Double(c.int(key)) }
            return SLATargets(p50Ms: target("target_p50_ms"), p95Ms: target("target_p95_ms"), p99Ms: target("target_p99_ms"))
        }
        let sources = StatusSources(readiness: { await probe.check() }, performance: { await runtime.performance(targets: targets()) })
        let app = StatusServer.application(host: host, port: port, group: runtime.group, sources: sources, logger: logger)
        let logger = self.logger
        logger.info("status port on http://\(host):\(port) (/health, /ready, /api/v1/performance/metrics)")
        return Task {
            do {
                try await app.run()
            } catch is CancellationError {
            } catch {
                logger.error("status port \(host):\(port) stopped: \(error)")
            }
        }
    }
}
