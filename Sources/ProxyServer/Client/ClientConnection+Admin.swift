// ClientConnection as an admin console session: a welcome of its own, then one command per Query message.
import AdminConsole
import NIOCore
import PGWire
import PoolCore

/// The console's rights, named here for the files that do not import the console.
typealias AdminRights = AdminConsole.AdminRights

/// What the connection paths need to know of the console: its database names and the pool its traffic is counted in.
enum AdminSession {
    static let databaseNames = AdminCommands.databaseNames
    static let poolKey = PoolKey(database: AdminCommands.poolName.database, user: AdminCommands.poolName.user)
}

extension ClientConnection {
    func startAdmin(_ rights: AdminRights) {
        guard let context else { return }
        welcomed = true
        endLoginTimer()
        state = .admin(rights, busy: false)
        runtime.connections(on: eventLoop).clients[waiterID] = self
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
                let promise = eventLoop.makePromise(of: AdminReply.self)
                promise.completeWithTask { [runtime] in
                    await AdminCommands.execute(sql, rights: rights, runtime: RuntimeConsole(runtime: runtime))
                }
                promise.futureResult.whenSuccess { [self] reply in
                    guard case .admin = state, let context = self.context else { return }
                    var out = context.channel.allocator.buffer(capacity: 1024)
                    reply.encode(into: &out)
                    if let counters {
                        counters.totals.queries += 1
                        counters.totals.xacts += 1
                        counters.totals.sent += out.readableBytes
                    }
                    if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
                    state = .admin(rights, busy: false)
                    // Next command on a later turn of the loop, so a long pipeline of commands never recurses here.
                    if inbound.readableBytes > 0 { eventLoop.execute { self.adminRead() } }
                    if inbound.readableBytes < 1 << 20 { holdBack(.held, false) }
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
