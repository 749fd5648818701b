// Transaction mode: session state a client creates follows it (settings) or keeps it on its server (LISTEN, locks...).
import NIOCore
import PGWire
import PoolCore
import SQLAnalysis

extension ClientConnection {
    /// The frames inspected for session-changing SQL: Query, Parse (whose text runs later) and Bind (which runs it).
    static let inspectedTypes: [UInt8] = [FrontendMessage.Code.query, FrontendMessage.Code.parse, FrontendMessage.Code.bind]
    /// Without prepared statements carried, the messages whose replies are still counted (so that COPY FROM STDIN run
    /// by Execute, where PostgreSQL ignores the Syncs sent during the copy, keeps client and server in step).
    static let countedTypes: [UInt8] = [FrontendMessage.Code.execute, FrontendMessage.Code.sync, FrontendMessage.Code.functionCall,
                                        FrontendMessage.Code.copyDone, FrontendMessage.Code.copyFail]

    /// The reply a message of `type` will get, for the server's reply queue when statements are not carried.
    static func countedReply(_ type: UInt8) -> PendingReply? {
        switch type {
        case FrontendMessage.Code.execute: .execute
        case FrontendMessage.Code.sync: .sync
        case FrontendMessage.Code.query, FrontendMessage.Code.functionCall: .query
        case FrontendMessage.Code.copyDone, FrontendMessage.Code.copyFail: .copyEnd
        default: nil
        }
    }

    /// Notes whether a Query, or the statement a Parse prepares or a Bind runs, may change the session, so the
    /// server is probed before it goes back. Returns what the SQL may do, if anything.
    @discardableResult
    func inspect(_ type: UInt8, _ body: ByteBuffer) -> SessionStateScan.Effect? {
        var found: SessionStateScan.Effect?
        body.withUnsafeReadableBytes { raw in
            if type == FrontendMessage.Code.bind {
                // Bind: portal, then the statement's name; a statement whose text may change the session does so each run.
                guard let portalEnd = raw.firstIndex(of: 0) else { return }
                let rest = raw[(portalEnd + 1)...]
                guard let nameEnd = rest.firstIndex(of: 0),
                      let names = sessionStatements[String(decoding: rest[rest.startIndex..<nameEnd], as: UTF8.self)] else { return }
                probeAfter = true
                customSettingNames.formUnion(names)
                return
            }
            var start = 0
            var name: String?
            if type == FrontendMessage.Code.parse {
                guard let nameEnd = raw.firstIndex(of: 0) else { return }
                name = String(decoding: raw[..<nameEnd], as: UTF8.self)
                start = nameEnd + 1
            }
            let rest = UnsafeRawBufferPointer(rebasing: raw[start...])
            let end = rest.firstIndex(of: 0) ?? rest.count
            let (effect, changesSchema) = SessionStateScan.classify(UnsafeRawBufferPointer(rebasing: rest[..<end]))
            if carriesStatements && changesSchema { runtime.statementCatalog.schemaChanged() }
            guard let effect else {
                if let name { sessionStatements[name] = nil }
                return
            }
            probeAfter = true
            found = effect
            customSettingNames.formUnion(effect.customSettings)
            if let name { sessionStatements[name] = effect.customSettings }
        }
        return found
    }

    /// With session_pinning = refuse, what replaces a Query or Parse whose SQL would pin the client: the same message
    /// with SQL that has the server raise the error, so the transaction fails there as any failed statement would.
    /// nil when pinning is allowed.
    func refusal(_ type: UInt8, _ body: ByteBuffer) -> (frame: ByteBuffer, body: ByteBuffer, name: String)? {
        guard runtime.config.string("session_pinning") == "refuse" else { return nil }
        let raise = RaisedError.sql(sqlState: "0A000", message: "statements that keep state on one server (LISTEN, session "
            + "advisory locks, WITH HOLD cursors, temporary tables, PREPARE) are not allowed in transaction pooling (session_pinning = refuse)")
        var newBody = ByteBufferAllocator().buffer(capacity: raise.utf8.count + 64)
        var name = ""
        if type == FrontendMessage.Code.parse {
            var rest = body
            name = rest.readNullTerminatedString() ?? ""
            _ = rest.readNullTerminatedString()
            newBody.writeNullTerminatedString(name)
            newBody.writeNullTerminatedString(raise)
            newBody.writeImmutableBuffer(rest)
        } else {
            newBody.writeNullTerminatedString(raise)
        }
        var frame = ByteBufferAllocator().buffer(capacity: newBody.readableBytes + 5)
        frame.writeInteger(type)
        frame.writeInteger(Int32(newBody.readableBytes + 4))
        frame.writeImmutableBuffer(newBody)
        return (frame, newBody, name)
    }

    /// The transaction is over and may have changed the session: hold the client's next bytes, ask the server.
    func startProbe(_ server: ServerConnection, pool: ServerPool) {
        probeAfter = false
        let customNames = customSettingNames
        state = .settling(pool)
        linkedServer = nil
        let onServerLoop: @Sendable () -> Void = {
            // A cancel still on its way could hit the probe; it waits for them like a release does.
            server.whenCancelsDone { server.probeSession(custom: customNames) { result in
                // Pinned: the server stays this client's, so it is linked again before anyone else can lease it.
                if case .success(let s) = result, !s.pinReasons.isEmpty { server.link(self) }
                if self.eventLoop.inEventLoop {
                    self.probed(server, pool: pool, result)
                } else {
                    self.eventLoop.execute { self.probed(server, pool: pool, result) }
                }
            } }
        }
        if server.eventLoop === eventLoop { onServerLoop() } else { server.eventLoop.execute(onServerLoop) }
    }

    private func probed(_ server: ServerConnection, pool: ServerPool, _ result: Result<SessionSnapshot, PGError>) {
        let pinnedNow: Bool
        if case .success(let s) = result { pinnedNow = !s.pinReasons.isEmpty } else { pinnedNow = false }
        guard case .settling = state else {
            // The client left while the server answered: a pinned session is cleared (or closed), a clean one reused.
            server.eventLoop.execute {
                if pinnedNow {
                    server.release(clean: true, reset: true, mustClear: true)
                } else {
                    pool.release(server, reusable: (try? result.get()) != nil)
                }
            }
            return
        }
        switch result {
        case .failure(let error):
            runtime.logger.warning("C-\(waiterID): session probe failed: \(error.message); closing that server connection")
            server.eventLoop.execute { pool.release(server, reusable: false) }
            moveOn(pool)
        case .success(let snapshot):
            sessionSettings = snapshot.settings
            pinReasons = snapshot.pinReasons
            if pinnedNow {
                state = .linked
                linkedServer = server
                currentPool = pool
                linkedSameLoop = server.eventLoop === eventLoop
                tracker = LinkTracker()
                answeredOnLink = 0
                replayHeld()
            } else {
                server.eventLoop.execute { pool.release(server, reusable: true) }
                moveOn(pool)
            }
        }
    }

    /// Unlinked again: idle, or straight back in the queue if the client already sent its next request.
    private func moveOn(_ pool: ServerPool) {
        guard !held.isEmpty else {
            state = .unlinked(pool)
            return
        }
        state = .waiting(pool)
        waitStarted = .now()
        requestServer(from: pool)
    }

    /// Sends what the client said while it had no server, now that it has one.
    func replayHeld() {
        let early = held
        held = []
        if heldBytes > 1 << 20 { setReadingFromClient(true) }
        heldBytes = 0
        for b in early { relay(b) }
        if !outgoing.isEmpty || !expected.isEmpty, let context { channelReadComplete(context: context) }
    }
}
