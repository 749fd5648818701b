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
        let app = StatusServer.application(host: host, port: port, group: runtime.group,
                                           sources: StatusSources(readiness: { await probe.check() }), logger: logger)
        let logger = self.logger
        logger.info("status port on http://\(host):\(port) (/health, /ready)")
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
