// ServerConnection's login: the optional TLS request, the startup packet, and authentication to PostgreSQL.
import NIOCore
import NIOSSL
import PGWire
import SessionCore
import PoolCore

extension ServerConnection {
    func sendStartup(context: ChannelHandlerContext) {
        let machine = ServerLoginMachine(user: target.user, credential: target.credential)
        state = .login(machine, context.channel.allocator.buffer(capacity: 256))
        var out = context.channel.allocator.buffer(capacity: 128)
        ServerLoginMachine.startupPacket(user: target.user, database: target.database, parameters: target.startupParameters).encode(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    /// The server said 'S' (start TLS) or 'N' (plaintext only) to our SSLRequest.
    func tlsAnswer(context: ChannelHandlerContext, _ pending: ByteBuffer) {
        guard let answer = pending.getInteger(at: pending.readerIndex, as: UInt8.self) else { return }
        guard pending.readableBytes == 1 else {
            // Anything after the answer would be read before the handshake: refuse it.
            return loginFailed(context: context, .serverUnreachable("server sent unexpected data after its TLS answer"))
        }
        let mode = runtime.config.string("server_tls_sslmode")
        switch answer {
        case UInt8(ascii: "S"):
            guard let tls = runtime.loaded.serverTLS else { return }
            do {
                let hostname = address.host.isIPAddress || address.host.hasPrefix("/") ? nil : address.host
                try context.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: hostname), position: .first)
            } catch {
                return loginFailed(context: context, .serverUnreachable("TLS setup to server failed: \(error)"))
            }
            sendStartup(context: context)
        case UInt8(ascii: "N") where mode == "prefer" || mode == "allow":
            sendStartup(context: context)
        case UInt8(ascii: "N"):
            loginFailed(context: context, .serverUnreachable("server does not accept TLS but server_tls_sslmode is \(mode)"))
        default:
            loginFailed(context: context, .serverUnreachable("server sent an invalid answer to SSLRequest"))
        }
    }

    func loginFailed(context: ChannelHandlerContext, _ error: PGError) {
        state = .closed
        context.close(promise: nil)
        hostRefusedLogin(error)
        pool?.connectFailed(error)
    }

    func loginRead(context: ChannelHandlerContext, machine: inout ServerLoginMachine, pending: inout ByteBuffer) {
        do {
            while let (type, body) = try WholeFrameReader.next(&pending, maxLength: 1 << 20) {
                let message = try BackendMessage.decode(type: type, body: body)
                switch machine.receive(message) {
                case .send(let m):
                    var out = context.channel.allocator.buffer(capacity: 128)
                    m.encode(into: &out)
                    context.writeAndFlush(wrapOutboundOut(out), promise: nil)
                case .wait:
                    continue
                case .ready(let params, let pid, let key):
                    session.parameters = params
                    backendPID = pid
                    session.backendPID = pid
                    backendSecret = key
                    state = .idle
                    runtime.logger.debug("new server connection \(address) pid \(pid) for \(target.database)/\(target.user)")
                    // What clients welcomed before they get a server are told (a paused or busy pool).
                    // For an entry with several hosts, its own pool's record, kept from a writable server when there is one.
                    pool?.home.noteWelcomeParameters(params)
                    hostLoggedIn()
                    pool?.connected(self)
                    return
                case .fail(let error):
                    state = .closed
                    context.close(promise: nil)
                    hostRefusedLogin(error)
                    pool?.connectFailed(error)
                    return
                }
            }
            state = .login(machine, pending)
        } catch {
            state = .closed
            context.close(promise: nil)
            pool?.connectFailed(.serverUnreachable("server sent a malformed login message: \(error)"))
        }
    }
}
