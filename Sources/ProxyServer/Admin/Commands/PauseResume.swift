// PAUSE and RESUME: stop handing out servers (queued clients wait), and start again.
import NIOCore
import PGWire

enum PauseCommand: AdminCommand {
    static let name = "PAUSE"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        if let db = call.argument {
            // Pausing one database needs per-pool pausing, which is not built yet: say so rather than pause all.
            let message = runtime.config.database(named: db) == nil ? "no such database: \(db)" : "PAUSE of a single database is not supported yet"
            return call.eventLoop.makeSucceededFuture(.error(PGError("08P01", message)))
        }
        guard !runtime.isPaused else { return call.eventLoop.makeSucceededFuture(.error(PGError("08P01", "already suspended/paused"))) }
        runtime.setPaused(true)
        runtime.logger.info("PAUSE from the admin console: clients wait for RESUME")
        // Like PgBouncer, answer once no server is in use any more: every client has reached a point where it
        // gave its server back (transaction mode) or left (session mode).
        let promise = call.eventLoop.makePromise(of: AdminReply.self)
        waitUntilIdle(runtime, on: call.eventLoop, promise)
        return promise.futureResult
    }

    private static func waitUntilIdle(_ runtime: ProxyRuntime, on loop: EventLoop, _ promise: EventLoopPromise<AdminReply>) {
        runtime.gather { registry in registry.servers.values.filter { $0.info().state == "active" }.map(\.id) }.whenSuccess { active in
            guard runtime.isPaused else { return promise.succeed(.error(PGError("08P01", "resumed before the pause completed"))) }
            if active.isEmpty { return promise.succeed(.done(tag: "PAUSE")) }
            loop.scheduleTask(in: .milliseconds(50)) { waitUntilIdle(runtime, on: loop, promise) }
        }
    }
}

enum ResumeCommand: AdminCommand {
    static let name = "RESUME"
    static let argument = AdminArgument.optional

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        if let db = call.argument {
            let message = runtime.config.database(named: db) == nil ? "no such database: \(db)" : "database \(db) is not paused"
            return call.eventLoop.makeSucceededFuture(.error(PGError("08P01", message)))
        }
        guard runtime.isPaused else { return call.eventLoop.makeSucceededFuture(.error(PGError("08P01", "pooler is not paused/suspended"))) }
        runtime.setPaused(false)
        runtime.logger.info("RESUME from the admin console")
        return call.eventLoop.makeSucceededFuture(.done(tag: "RESUME"))
    }
}
