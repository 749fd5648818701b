// pgswift's own short session with one host (a health check, a promotion): connect, TLS as server_tls_sslmode says,
// log in, run its statements one after another, say goodbye.
import Config
import NIOCore
import NIOSSL
import PGWire
import PoolCore
import Routing

/// Each statement's first row goes to `next`, which says whether to go on to the following statement; the rows go to
/// `done` when the last has run or `next` stopped, or why the session failed (the caller keeps only the first
/// outcome, as its timer may also end the session).
final class NodeSQLConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Step {
        case tlsAnswer
        case login(ServerLoginMachine)
        case query(index: Int, columns: [String?]?)
        case finished
    }

    private let address: ServerAddress
    private let database: String
    private let user: String
    private let credential: ServerCredential
    private let tls: NIOSSLContext?
    private let tlsMode: String
    private let statements: [String]
    private let next: ([String?]?) -> Bool
    private let done: (Result<[[String?]?], NodeCheckFailure>) -> Void
    private var rows: [[String?]?] = []
    private let purpose: String
    private var step = Step.tlsAnswer
    private var pending = ByteBuffer()

    /// `purpose` names the session in pg_stat_activity (application_name).
    init(address: ServerAddress, database: String, user: String, credential: ServerCredential, tls: NIOSSLContext?, tlsMode: String,
         purpose: String, statements: [String], next: @escaping ([String?]?) -> Bool = { _ in true },
         done: @escaping (Result<[[String?]?], NodeCheckFailure>) -> Void) {
        self.purpose = purpose
        self.statements = statements
        self.next = next
        self.address = address
        self.database = database
        self.user = user
        self.credential = credential
        self.tls = tls
        self.tlsMode = tlsMode
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        if tls != nil {
            var out = context.channel.allocator.buffer(capacity: 8)
            StartupPacket.sslRequest.encode(into: &out)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        } else {
            startup(context)
        }
    }

    private func startup(_ context: ChannelHandlerContext) {
        step = .login(ServerLoginMachine(user: user, credential: credential))
        var out = context.channel.allocator.buffer(capacity: 128)
        ServerLoginMachine.startupPacket(user: user, database: database, parameters: ["application_name": purpose])
            .encode(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        pending.writeBuffer(&input)
        if case .tlsAnswer = step {
            guard let answer = pending.readInteger(as: UInt8.self) else { return }
            switch answer {
            case UInt8(ascii: "S"):
                guard let tls, pending.readableBytes == 0 else { return finish(context, "unexpected data after the TLS answer") }
                let hostname = address.host.isIPAddress || address.host.hasPrefix("/") ? nil : address.host
                do {
                    try context.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: hostname), position: .first)
                } catch {
                    return finish(context, "TLS setup failed: \(error)")
                }
                startup(context)
            case UInt8(ascii: "N") where tlsMode == "prefer" || tlsMode == "allow":
                startup(context)
            default:
                return finish(context, "no TLS (server_tls_sslmode is \(tlsMode))")
            }
            return
        }
        do {
            while let (type, body) = try WholeFrameReader.next(&pending, maxLength: 1 << 20) {
                try receive(context, BackendMessage.decode(type: type, body: body))
                if case .finished = step { return }
            }
        } catch {
            finish(context, "malformed answer: \(error)")
        }
    }

    private func receive(_ context: ChannelHandlerContext, _ message: BackendMessage) throws {
        switch step {
        case .login(var machine):
            switch machine.receive(message) {
            case .send(let m):
                step = .login(machine)
                write(context, m)
            case .wait:
                step = .login(machine)
            case .ready:
                step = .query(index: 0, columns: nil)
                write(context, .query(statements[0]))
            case .fail(let error):
                finish(context, error.message, sqlState: error.sqlState)
            }
        case .query(let index, let columns):
            switch message {
            case .dataRow(let values):
                if columns == nil { step = .query(index: index, columns: values.map { $0.map { String(buffer: $0) } }) }
            case .errorResponse(let fields):
                finish(context, fields["M"] ?? "error", sqlState: fields["C"])
            case .readyForQuery:
                rows.append(columns)
                if index + 1 < statements.count, next(columns) {
                    step = .query(index: index + 1, columns: nil)
                    return write(context, .query(statements[index + 1]))
                }
                write(context, .terminate)
                step = .finished
                done(.success(rows))
                context.close(promise: nil)
            default:
                break
            }
        case .tlsAnswer, .finished:
            break
        }
    }

    private func write(_ context: ChannelHandlerContext, _ message: FrontendMessage) {
        var out = context.channel.allocator.buffer(capacity: 64)
        message.encode(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    private func finish(_ context: ChannelHandlerContext, _ why: String, sqlState: String? = nil) {
        if case .finished = step { return }
        step = .finished
        done(.failure(NodeCheckFailure(message: why, sqlState: sqlState)))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .finished = step { return }
        step = .finished
        done(.failure(NodeCheckFailure(message: "the server closed the connection")))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(context, "\(error)")
    }
}

struct NodeCheckFailure: Error, CustomStringConvertible {
    let message: String
    /// PostgreSQL's, when it refused the check's login.
    var sqlState: String?
    var description: String { message }

    /// The host answered but refused the check's role (28xxx: password, pg_hba): the check's configuration is wrong,
    /// which says nothing about the host.
    var isCredentialProblem: Bool { sqlState?.hasPrefix("28") == true }
}
