// ClientSession as the handler drives it: each event (bytes read, a server linked or answering, the probe's result, a
// timer) moves the phase and returns the one thing the handler must do.
import NIOCore
import PGWire

/// What the client's handler carries out after an event. Frames for the server wait in `outgoing`/`expected` and are
/// written at the end of the read whatever the action (before it, when the action ends the link).
public enum ClientAction: Equatable, Sendable {
    case none
    /// Answer the client from here (a PQprepare of a statement PostgreSQL already accepted).
    case reply(ByteBuffer)
    /// Ask the pool for a server. `stopReading`: what is held passed the limit, TCP holds back the rest.
    case lease(stopReading: Bool)
    /// Stop reading the client for this reason (TCP holds back the rest) until the reason is lifted.
    case stopReading(ReadStops)
    /// This reason to hold the client back is gone: what it held went on to the server.
    case resumeReading(ReadStops)
    /// Give the linked server back, with the statements it lent.
    case release(LetGo, ServerStatementCache)
    /// Give it back, then ask for a server for what the client sent meanwhile (a link that took one batch only).
    case releaseThenLease(LetGo, ServerStatementCache)
    /// Hand the server back for the session probe (what the transaction left on the session), with its statements.
    case probe(custom: Set<String>, ServerStatementCache)
    /// The client says goodbye (Terminate); a linked server goes back as `leave()` says.
    case leave
    /// Send this FATAL error and close. Boxed: the rare case would otherwise size every action returned.
    indirect case fail(PGError)
    case timedOut(ClientTimeout)
}

extension ClientSession {
    static let clientCloseRequest = "client close request"

    /// Logged in, with a server needed before the client hears it is (the welcome waits for one).
    public mutating func awaitServer(now: NIODeadline) {
        phase = .waiting
        clock.waitStarted = now
    }

    /// Bytes from the client. `searchPath`: the client's, for a Parse answered here (looked up only then).
    public mutating func read<Catalog: StatementInterning>(_ buffer: ByteBuffer, searchPath: @autoclosure () -> String, catalog: Catalog,
                                                          now: NIODeadline) -> ClientAction {
        clock.lastRequest = now
        switch phase {
        case .linked:
            if holdingAfterBatch {
                // Terminate behind the batch: the client leaves (its server goes as for any client gone mid-answer).
                if held.isEmpty, buffer.readableBytes == 5, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == FrontendMessage.Code.terminate {
                    return .leave
                }
                return hold(buffer) ? .stopReading(.held) : .none
            }
            return relayLinked(buffer, catalog: catalog)
        case .waiting, .settling:
            return hold(buffer) ? .stopReading(.held) : .none
        case .unlinked:
            // Terminate between transactions needs no server.
            if buffer.readableBytes == 5, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == FrontendMessage.Code.terminate {
                return .leave
            }
            if let reply = answerLocally(buffer, searchPath: searchPath(), catalog: catalog) { return .reply(reply) }
            // The first bytes of the next transaction: they wait for a server.
            let stop = hold(buffer)
            phase = .waiting
            clock.waitStarted = now
            return .lease(stopReading: stop)
        }
    }

    private mutating func relayLinked<Catalog: StatementInterning>(_ buffer: ByteBuffer, catalog: Catalog) -> ClientAction {
        // Taken out while the session works on it (moved, not copied, so its storage stays unshared).
        var statements = takeLent()
        defer { lent = statements }
        do {
            if try relay(buffer, statements: &statements, catalog: catalog) == .terminate { return .leave }
            // Frames pile up behind a Bind that waits for a description: past the limit, TCP holds back the rest.
            if gate.heldBytes > Self.holdLimit { return .stopReading(.gate) }
            return .none
        } catch let error as ProtocolViolation {
            return .fail(.protocolViolation(error.message))
        } catch {
            return .fail(.protocolViolation("\(error)"))
        }
    }

    /// A server is linked and lent its statements: what the client said meanwhile goes to it (into `outgoing`).
    /// `resume`: reading had been stopped for what was held (`.held`). A gate of an earlier link is gone with it.
    public mutating func linked<Catalog: StatementInterning>(statements: ServerStatementCache, catalog: Catalog) -> (ClientAction, resume: Bool) {
        linked()
        lent = statements
        let (early, resume) = batchOnly.map { takeHeld(upTo: $0) } ?? takeHeld()
        holdingAfterBatch = batchOnly != nil
        batchOnly = nil
        // The words routing found belong to these bytes only.
        defer { heldWords = nil }
        for b in early {
            switch relayLinked(b, catalog: catalog) {
            // A full gate takes the rest behind it too, in order: none of it may be dropped.
            case .none, .stopReading:
                continue
            case let action:
                return (action, resume)
            }
        }
        if gate.heldBytes > Self.holdLimit { return (.stopReading(.gate), resume) }
        // Outside session mode, a link nothing was asked of yet (the welcome's, or a cancelled wait's) ends at once.
        guard mode != .session else { return (.none, resume) }
        return (settle(tracker.decide(mode: mode, answered: 0, status: .idle, atBoundary: atFrameBoundary), catalog: catalog), resume)
    }

    /// The linked server's bytes for the client arrived: what to do with the link. `.fail` means the bytes must not
    /// reach the client (statement mode's refusal of a transaction).
    /// `described`: answers to pgswift's own Describe, which let go of the frames held for them (into `outgoing`).
    public mutating func answered<Catalog: StatementInterning>(_ answered: Int, status: TransactionStatus, atBoundary: Bool,
                                                              failed: [FailedParse], madeUp: [Bool], settingReported: Bool,
                                                              described: [DescribedStatement] = [], catalog: Catalog,
                                                              now: NIODeadline) -> ClientAction {
        var statements = takeLent()
        let gateWasHolding = gate.holding
        let decision = delivered(answered: answered, status: status, atBoundary: atBoundary, failed: failed, madeUp: madeUp,
                                 settingReported: settingReported, statements: &statements, now: now)
        // After the failed Parses are forgotten: frames held for a description are rewritten against what is left.
        var failure: Error?
        if !described.isEmpty {
            do {
                try self.described(described, statements: &statements, catalog: catalog)
            } catch {
                failure = error
            }
        }
        // Back in place before `settle`, which hands them over with the server.
        lent = statements
        if let failure { return .fail(.protocolViolation("\(failure)")) }
        // The frames held for a description were counted as sent, so the link is kept while they go on.
        if decision == .keep, gateWasHolding, !gate.holding { return .resumeReading(.gate) }
        return decision == .keep ? .none : settle(decision, catalog: catalog)
    }

    /// Between transactions outside session mode: the server goes back, to the probe first if the transaction may have
    /// changed the session, or stays while the client is pinned.
    private mutating func settle<Catalog: StatementInterning>(_ decision: LinkDecision, catalog: Catalog) -> ClientAction {
        switch decision {
        case .keep:
            return .none
        case .refuseTransaction:
            return .fail(PGError(SQLState.protocolViolation, "transaction blocks not allowed in statement pooling mode", severity: Severity.fatal))
        case .release:
            let heldBack = holdingAfterBatch
            holdingAfterBatch = false
            if probeAfter {
                probeAfter = false
                phase = .settling
                return .probe(custom: customSettingNames, takeLent())
            }
            // Pinned (LISTEN, an advisory lock, ...): the server stays until a probe finds the state undone, and takes
            // what was held behind the batch (into `outgoing`, which the handler writes after this delivery).
            if pinned {
                for b in takeHeld().bytes { _ = relayLinked(b, catalog: catalog) }
                return .none
            }
            if heldBack, !held.isEmpty {
                phase = .waiting
                clock.waitStarted = clock.lastDelivered
                return .releaseThenLease(.done(keepsSession: false, pinned: false), takeLent())
            }
            phase = .unlinked
            return .release(.done(keepsSession: false, pinned: false), takeLent())
        }
    }

    /// The probe ended: `pinReasons` nil when it failed. Pinned, the server links again (`linked(statements:)`);
    /// otherwise the client is between transactions, or back in the queue if it already sent its next request.
    public mutating func probed(pinReasons: [String]?, now: NIODeadline) -> ClientAction {
        if let pinReasons { self.pinReasons = pinReasons }
        if pinned, pinReasons != nil { return .none }
        if held.isEmpty {
            phase = .unlinked
            return .none
        }
        phase = .waiting
        clock.waitStarted = now
        return .lease(stopReading: false)
    }

    /// A cancel for a client queued for a server: the held requests are answered as cancelled (their count), and the
    /// client is between transactions again. Nil when there is nothing to cancel (a request still arriving).
    public mutating func cancelQueued() -> (requests: Int, resume: Bool)? {
        guard phase == .waiting, let requests = heldRequests() else { return nil }
        phase = .unlinked
        return (requests, takeHeld().resume)
    }

    /// The client left while linked: how its server goes back, and the statements it lent.
    public mutating func leave() -> (LetGo, ServerStatementCache) {
        (leaving, takeLent())
    }

    /// Which of the timeouts ran out, if one did.
    public func expired(_ limits: ClientTimeoutLimits, now: NIODeadline) -> ClientTimeout? {
        clock.expired(phase, sent: tracker.sent, link: link.clock, limits: limits, now: now)
    }

    /// The linked server's statements as the client holds them (SHOW PREPARED_STATEMENTS).
    public var lentStatements: ServerStatementCache { lent }

    mutating func takeLent() -> ServerStatementCache {
        var out = ServerStatementCache(capacity: 0)
        swap(&out, &lent)
        return out
    }

    /// The linked server's statements, for a retry of the last batch.
    public mutating func batchForRetry<Catalog: StatementInterning>(answered: Int, catalog: Catalog) -> ([ByteBuffer], [PendingReply])? {
        guard phase == .linked else { return nil }
        var statements = takeLent()
        defer { lent = statements }
        return batchForRetry(answered: answered, statements: &statements, catalog: catalog)
    }
}
