// ServerConnection's own queries (server_reset_query, parameter sync, auth_query): sent, answered, swallowed.
import NIOCore
import PGWire
import Routing
import SessionCore

extension ServerConnection {
    /// Runs SQL of pgswift's own and calls `done` with the first error, once the server is ready again.
    func runInternal(_ sql: String, done: @escaping (PGError?) -> Void) {
        eventLoop.preconditionInEventLoop()
        guard let context else { return done(.serverUnreachable("server connection closed")) }
        var out = context.channel.allocator.buffer(capacity: sql.utf8.count + 6)
        FrontendMessage.query(sql).encode(into: &out)
        sendInternal(out, done: done)
    }

    /// Runs one parameterised statement (extended protocol, so the parameter is never spliced into SQL).
    func runInternal(_ sql: String, parameter: String, done: @escaping (PGError?) -> Void) {
        eventLoop.preconditionInEventLoop()
        guard let context else { return done(.serverUnreachable("server connection closed")) }
        var out = context.channel.allocator.buffer(capacity: sql.utf8.count + 64)
        var param = context.channel.allocator.buffer(capacity: parameter.utf8.count)
        param.writeString(parameter)
        FrontendMessage.parse(name: "", query: sql, parameterTypes: []).encode(into: &out)
        FrontendMessage.bind(portal: "", statement: "", parameterFormats: [], parameters: [param], resultFormats: []).encode(into: &out)
        FrontendMessage.execute(portal: "", maxRows: 0).encode(into: &out)
        FrontendMessage.sync.encode(into: &out)
        sendInternal(out, done: done)
    }

    func sendInternal(_ bytes: ByteBuffer, done: @escaping (PGError?) -> Void) {
        internalError = nil
        internalRow = nil
        state = .internalQuery(done: done)
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    func swallow(_ buffer: ByteBuffer) {
        var finished = false
        do {
            try internalSplitter.feed(buffer) { event in
                guard case .observed(let type, var body) = event else { return }
                switch type {
                case BackendMessage.Code.dataRow:
                    if internalRow == nil, case .dataRow(let columns)? = try? BackendMessage.decode(type: type, body: body) {
                        internalRow = columns
                    }
                case BackendMessage.Code.notificationResponse:
                    // For the client whose session this is (the probe runs between its transactions).
                    session.park(notification: ServerSession.frame(type, body))
                case BackendMessage.Code.readyForQuery:
                    session.observeInternal(type, &body)
                    finished = true
                case BackendMessage.Code.errorResponse:
                    if internalError == nil, case .errorResponse(let f)? = try? BackendMessage.decode(type: type, body: body) {
                        internalError = PGError(f.sqlState ?? SQLState.internalError, f.message ?? "error", severity: f["S"] ?? Severity.error)
                    }
                default:
                    session.observeInternal(type, &body)
                }
            }
        } catch {
            fail(.protocolViolation("server sent a malformed message: \(error)"))
            return
        }
        guard finished, case .internalQuery(let done) = state else { return }
        state = .idle
        let error = internalError
        internalError = nil
        done(error)
    }

    /// The client is finished with this server: reuse it if it is clean, otherwise cancel and close it.
}

extension ServerConnection {
    /// After a client's write: the primary's WAL insert position, at or past the end of its commit record (nil when
    /// the server could not say). Replicas that have replayed that far show the client its own write.
    func learnWALPosition(_ done: @escaping (UInt64?) -> Void) {
        walPosition("SELECT pg_catalog.pg_current_wal_insert_lsn()", done)
    }

    /// A replica's replayed position, for a read that must see a client's write (nil when it could not say).
    func replayPosition(_ done: @escaping (UInt64?) -> Void) {
        walPosition("SELECT pg_catalog.pg_last_wal_replay_lsn()", done)
    }

    private func walPosition(_ sql: String, _ done: @escaping (UInt64?) -> Void) {
        eventLoop.preconditionInEventLoop()
        if isLinked { unlinkForInternalUse() }
        runInternal(sql) { [self] error in
            guard error == nil, let column = internalRow?.first, var text = column else { return done(nil) }
            done(text.readString(length: text.readableBytes).flatMap(NodeCheck.parseLSN))
        }
    }

    /// Between transactions: unlinks the client and asks the server what session state is left on it.
    func probeSession(custom: Set<String>, done: @escaping (Result<SessionSnapshot, PGError>) -> Void) {
        eventLoop.preconditionInEventLoop()
        guard case .linked = state else { return done(.failure(.serverUnreachable("server connection not in use"))) }
        unlinkForInternalUse()
        runInternal(SessionSnapshot.sql(custom: custom)) { [self] error in
            if let error { return done(.failure(error)) }
            guard let row = internalRow, let snapshot = SessionSnapshot(row: row) else {
                return done(.failure(.protocolViolation("unexpected answer to the session probe")))
            }
            sessionSettings = snapshot.settings
            done(.success(snapshot))
        }
    }
}
