// Shared by the console's control commands: checking a database argument, and waiting until servers settle.
import NIOCore
import PGWire

enum AdminTarget {
    /// nil if `db` may be acted on; otherwise PgBouncer's error for it.
    static func refuse(_ db: String, verb: String, _ runtime: ProxyRuntime) -> AdminReply? {
        if AdminSession.databaseNames.contains(db) && runtime.config.database(named: db) == nil {
            return .error(PGError(SQLState.protocolViolation, "cannot \(verb) admin db: \(db)"))
        }
        guard runtime.config.database(named: db) != nil else { return .error(PGError(SQLState.protocolViolation, "no such database: \(db)")) }
        return nil
    }

    /// Answers `reply` once no server matches `busy` (checked on each server's own loop, every 50 ms).
    static func waitUntil(_ runtime: ProxyRuntime, on loop: EventLoop, reply: AdminReply,
                          _ busy: @escaping @Sendable (ServerConnection) -> Bool) -> EventLoopFuture<AdminReply> {
        let promise = loop.makePromise(of: AdminReply.self)
        poll(runtime, loop, reply, busy, promise)
        return promise.futureResult
    }

    private static func poll(_ runtime: ProxyRuntime, _ loop: EventLoop, _ reply: AdminReply,
                             _ busy: @escaping @Sendable (ServerConnection) -> Bool, _ promise: EventLoopPromise<AdminReply>) {
        runtime.gather { registry in registry.servers.values.filter(busy).map(\.id) }.whenSuccess { remaining in
            if remaining.isEmpty { return promise.succeed(reply) }
            loop.scheduleTask(in: .milliseconds(50)) { poll(runtime, loop, reply, busy, promise) }
        }
    }
}
