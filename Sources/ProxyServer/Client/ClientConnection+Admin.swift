// ClientConnection as an admin console session: a welcome of its own, then one command per Query message.
import Foundation
import NIOCore
import PGWire

enum AdminSession {
    /// The virtual database names of the console: ours, and PgBouncer's so existing tools and exporters work.
    static let databaseNames: Set<String> = ["pgswift", "pgbouncer"]
    /// The console's own entry in SHOW POOLS/DATABASES/USERS/STATS, under PgBouncer's name, which exporters expect.
    static let poolKey = PoolKey(database: "pgbouncer", user: "pgbouncer")
}

extension ClientConnection {
    func startAdmin(_ rights: AdminRights) {
        guard let context else { return }
        welcomed = true
        loginTimer?.cancel()
        state = .admin(rights, busy: false)
        runtime.connections(on: eventLoop).clients[waiterID] = self
        statsKey = AdminSession.poolKey
        counters = runtime.connections(on: eventLoop).counters(for: AdminSession.poolKey)
        counters?.totals.clientLogins += 1
        var out = context.channel.allocator.buffer(capacity: 256)
        BackendMessage.authentication(.ok).encode(into: &out)
        // psql reads the leading number of server_version; PgBouncer's form keeps it working.
        let params = [
            ("server_version", "\(PgswiftVersion.compatible)/pgswift-\(PgswiftVersion.current)"), ("client_encoding", "UTF8"),
            ("server_encoding", "UTF8"), ("DateStyle", "ISO"), ("TimeZone", "GMT"), ("standard_conforming_strings", "on"),
            ("is_superuser", "on"),
        ]
        for (name, value) in params { BackendMessage.parameterStatus(name: name, value: value).encode(into: &out) }
        BackendMessage.backendKeyData(processID: startup.cancelPID, secretKey: startup.cancelSecret).encode(into: &out)
        BackendMessage.readyForQuery(.idle).encode(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        logLoginAttempt(" (admin console)")
    }

    /// Runs the commands waiting in `inbound`, one at a time: the next starts when the last has answered.
    func adminRead() {
        guard case .admin(let rights, busy: false) = state else { return }
        do {
            guard let (type, body) = try WholeFrameReader.next(&inbound, maxLength: runtime.settings.maxPacketSize) else { return }
            switch type {
            case FrontendMessage.Code.query:
                var text = body
                let sql = text.readNullTerminatedString() ?? ""
                state = .admin(rights, busy: true)
                counters?.totals.received += body.readableBytes + 5
                AdminConsole.execute(sql, rights: rights, runtime: runtime, eventLoop: eventLoop, clientID: waiterID)
                    .hop(to: eventLoop)
                    .whenComplete { [self] result in
                        guard case .admin = state, let context = self.context else { return }
                        let reply: AdminReply
                        switch result {
                        case .success(let r): reply = r
                        case .failure(let e): reply = .error(PGError(SQLState.protocolViolation, "command failed: \(e)"))
                        }
                        var out = context.channel.allocator.buffer(capacity: 1024)
                        reply.encode(into: &out)
                        if let counters {
                            counters.totals.queries += 1
                            counters.totals.xacts += 1
                            counters.totals.sent += out.readableBytes
                        }
                        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
                        state = .admin(rights, busy: false)
                        // Next command on a later turn of the loop: answers that are ready at once must not recurse
                        // through a long pipeline of commands.
                        if inbound.readableBytes > 0 { eventLoop.execute { self.adminRead() } }
                        if inbound.readableBytes < 1 << 20 { setReadingFromClient(true) }
                    }
            case FrontendMessage.Code.terminate:
                close()
            case FrontendMessage.Code.parse, FrontendMessage.Code.bind, FrontendMessage.Code.execute:
                refuseAdminPacket("extended query protocol not supported by admin console")
            default:
                refuseAdminPacket("unsupported packet type for admin console: \(type)")
            }
        } catch let error as ProtocolViolation {
            sendFatal(.protocolViolation(error.message))
        } catch {
            sendFatal(.protocolViolation("\(error)"))
        }
    }

    /// PgBouncer's answer to anything but a simple query: the error, ReadyForQuery, then a FATAL and close.
    private func refuseAdminPacket(_ message: String) {
        guard let context else { return }
        var out = context.channel.allocator.buffer(capacity: 128)
        PGError(SQLState.protocolViolation, message).encode(into: &out)
        BackendMessage.readyForQuery(.idle).encode(into: &out)
        context.write(wrapOutboundOut(out), promise: nil)
        sendFatal(PGError(SQLState.protocolViolation, "bad packet", severity: Severity.fatal))
    }
}
