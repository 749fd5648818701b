// One client's protocol life after login as a value: its frames rewritten and counted, its replies expected, its
// session state noticed, and what it means when the server answers.
import NIOCore
import PGWire
import SQLAnalysis

/// The shared numbering of prepared-statement texts and the schema epoch (ProxyServer's StatementCatalog).
public protocol StatementInterning {
    func id(for parseTail: ByteBuffer) -> Int
    /// Bumped by DDL a client sends: what PostgreSQL accepted before may no longer parse.
    var schemaEpoch: Int { get }
    func schemaChanged()
    /// A server failed a Bind of this shared statement with "cached plan must not change result type": its text gets
    /// a new id (a client preparing it again gets a fresh statement), and clients still holding the old one hear the
    /// failure wherever it would have to be prepared anew. DDL alone retires nothing: PostgreSQL itself tells, at the
    /// next Bind of a statement whose result columns changed, which is what a client caching row descriptions needs.
    func retire(_ id: Int)
    func isRetired(_ id: Int) -> Bool
    /// The statement's id if PostgreSQL accepted this text and these parameter types since the last schema change,
    /// parsed with this search_path ("" for the server's default): names in the text resolve through it.
    func acceptedID(for parseTail: ByteBuffer, searchPath: String) -> Int?
}

/// How the client side's relay of one read ended.
public enum ClientRelayEnd: Equatable, Sendable {
    case more
    /// Terminate: the client is leaving (its server stays open for the next one).
    case terminate
}

public struct ClientSession: Sendable {
    /// Session, transaction or statement: fixed at login.
    public let mode: PoolMode
    /// Transaction or statement mode with max_prepared_statements > 0: named statements follow the client.
    public let carriesStatements: Bool
    /// session_pinning = refuse: SQL that would pin the client fails instead.
    public let refusesPins: Bool
    /// The current transaction ran SQL that may change the session: probe before letting the server go.
    public var probeAfter = false
    /// Where the client stands: between transactions, waiting for a server, linked, or settling (the probe).
    public internal(set) var phase = ClientPhase.unlinked
    /// The client sent DDL that may make or change functions since the handler last looked (what routing knows of
    /// them may change).
    public var sentDDL = false
    /// The session scan's keyword answers for the held Query, from the profile routing read (`oneQuery` batches only):
    /// the scan at link time skips its own pass over the same text.
    public var heldWords: SessionStateScan.Words?
    /// Routing sent the held batch (this many bytes of it) to a replica as one statement: the link takes only that
    /// batch, and what the client sends after it waits for its own routing (a write pipelined behind a read would be
    /// refused there).
    public var batchOnly: Int?
    /// The link took its one batch: the client's next bytes are held until the link ends.
    public internal(set) var holdingAfterBatch = false
    /// The result cache is on for the client's database: the statements it sends are kept for the cache to read
    /// what they write (`drainSeen`).
    public var watchesWrites = false
    // (The one-byte fields above sit together: a field after each would round it up to eight.)

    private var splitter: FrameSplitter
    /// What only a link uses (its count, frames and replies on their way, retry batch, describe gate, lent
    /// statements), out of line so an idle client holds none of it (see LinkShelf).
    public internal(set) var link = LinkState()
    /// What was sent on the current link, to know when the server may go back.
    public internal(set) var tracker: LinkTracker {
        get { link.tracker }
        _modify { yield &link.tracker }
    }
    public internal(set) var rewriter = StatementRewriter()
    /// The batch being answered, kept for one retry after a stale cached plan.
    var lastBatch: RetryableBatch {
        get { link.lastBatch }
        _modify { yield &link.lastBatch }
    }
    /// Frames for the server, and the replies they will get; taken by the handler at the end of each read.
    public var outgoing: [ByteBuffer] {
        get { link.outgoing }
        _modify { yield &link.outgoing }
    }
    public var expected: [PendingReply] {
        get { link.expected }
        _modify { yield &link.expected }
    }
    /// Frames that replace the one just dropped, written at the next cut.
    var replacement: [ByteBuffer] {
        get { link.replacement }
        _modify { yield &link.replacement }
    }
    /// Frames held from a Bind that waits for its statement's description on the server (ClientSession+DescribeGate).
    var gate: DescribeGate {
        get { link.gate }
        _modify { yield &link.gate }
    }
    /// Prepared statements (by client name) whose text may change the session, with the custom settings they name.
    var sessionStatements: [String: [String]] = [:]
    /// Custom settings (x.y) the client ever set: the probe asks for them by name.
    public internal(set) var customSettingNames: Set<String> = []
    /// Why the client may not move between servers (LISTEN, advisory lock, ...); empty when it may.
    public var pinReasons: [String] = []
    /// What the timeouts measure from.
    public var clock: ClientClock
    /// The linked server's prepared statements, lent for the link: the client's rewriter changes them, and they go
    /// back with the server when the link ends (the server never reads them while they are lent).
    var lent: ServerStatementCache {
        get { link.lent }
        _modify { yield &link.lent }
    }
    /// Bytes the client sent while it had no server.
    public private(set) var held: [ByteBuffer] = []
    public private(set) var heldBytes = 0
    /// Past this, the client is held back by TCP rather than by memory.
    public static let holdLimit = 1 << 20

    /// The frames inspected for session-changing SQL: Query, Parse (whose text runs later) and Bind (which runs it).
    static let inspectedTypes: [UInt8] = [FrontendMessage.Code.query, FrontendMessage.Code.parse, FrontendMessage.Code.bind]
    /// Without prepared statements carried, the messages whose replies are still counted (so that COPY FROM STDIN run
    /// by Execute, where PostgreSQL ignores the Syncs sent during the copy, keeps client and server in step).
    /// What LinkTracker counts: the messages that end a request (Query, Sync, FunctionCall) and those that wait for a Sync.
    static let requestEnds: [UInt8] = [FrontendMessage.Code.query, FrontendMessage.Code.sync, FrontendMessage.Code.functionCall]
    static let requestFrames = FrameTypeSet(requestEnds + [
        FrontendMessage.Code.parse, FrontendMessage.Code.bind, FrontendMessage.Code.describe,
        FrontendMessage.Code.execute, FrontendMessage.Code.close, FrontendMessage.Code.flush,
    ])
    static let countedTypes: [UInt8] = [FrontendMessage.Code.execute, FrontendMessage.Code.sync, FrontendMessage.Code.functionCall,
                                        FrontendMessage.Code.copyDone, FrontendMessage.Code.copyFail]

    public init(mode: PoolMode, carriesStatements: Bool, refusesPins: Bool, maxFrameLength: Int, now: NIODeadline) {
        self.mode = mode
        self.carriesStatements = mode != .session && carriesStatements
        self.refusesPins = refusesPins
        splitter = FrameSplitter(rules: ClientFrameRules.rules(mode: mode, carriesStatements: self.carriesStatements, maxFrameLength: maxFrameLength))
        clock = ClientClock(now: now)
    }

    public var atFrameBoundary: Bool { splitter.atFrameBoundary }
    public var pinned: Bool { !pinReasons.isEmpty }

    // MARK: the link

    /// A server was linked: counting starts again.
    public mutating func linked() {
        phase = .linked
        tracker = LinkTracker()
        link.clock = LinkClock()
        gate = DescribeGate()
        rewriter.linkStarted()
    }

    /// How the client lets go of its server when it leaves while linked.
    public var leaving: LetGo {
        .clientLeft(sent: tracker.sent, halfSent: tracker.unsynced || !splitter.atFrameBoundary,
                    keepsSession: mode == .session || pinned, pinned: pinned)
    }

    /// The server delivered bytes ending with `answered` ReadyForQuery messages in all, the last carrying `status`:
    /// its news applied, what to do with the link. `.refuseTransaction` means the bytes must not reach the client.
    public mutating func delivered(answered: Int, status: TransactionStatus, atBoundary: Bool, failed: [FailedParse], madeUp: [Bool],
                                   settingReported: Bool, statements: inout ServerStatementCache, now: NIODeadline) -> LinkDecision {
        // Changed by SQL the scan did not flag (a function that calls set_config): the probe finds what it was.
        if settingReported && mode != .session { probeAfter = true }
        clock.lastDelivered = now
        link.clock.delivered(answered: answered, status: status, now: now)
        for f in failed { rewriter.parseFailed(f, server: &statements) }
        if !madeUp.isEmpty { rewriter.madeUpRepliesResolved(madeUp, server: &statements) }
        if carriesStatements && tracker.settled(answered: answered) {
            rewriter.repliesSettled()
            lastBatch.answered()
        }
        guard mode != .session else { return .keep }
        return tracker.decide(mode: mode, answered: answered, status: status, atBoundary: atBoundary && splitter.atFrameBoundary)
    }

    // MARK: bytes while unlinked

    /// Keeps bytes sent while there is no server. Returns true when the client should stop being read.
    public mutating func hold(_ buffer: ByteBuffer) -> Bool {
        heldBytes += buffer.readableBytes
        held.append(buffer)
        return heldBytes > Self.holdLimit
    }

    /// Hands over the first `count` bytes held (a frame may be cut: the rest stays held). `resume`: reading had been
    /// stopped and may start again.
    mutating func takeHeld(upTo count: Int) -> (bytes: [ByteBuffer], resume: Bool) {
        guard count < heldBytes else { return takeHeld() }
        let stopped = heldBytes > Self.holdLimit
        var out: [ByteBuffer] = [], left = count
        while left > 0, var first = held.first {
            if first.readableBytes <= left {
                left -= first.readableBytes
                out.append(held.removeFirst())
            } else {
                out.append(first.readSlice(length: left)!)
                held[0] = first
                left = 0
            }
        }
        heldBytes -= count
        return (out, stopped && heldBytes <= Self.holdLimit)
    }

    /// Hands over what was held. `resume`: reading had been stopped and may start again.
    public mutating func takeHeld() -> (bytes: [ByteBuffer], resume: Bool) {
        let out = held, resume = heldBytes > Self.holdLimit
        held = []
        heldBytes = 0
        return (out, resume)
    }

    /// How many requests (Query/Sync/FunctionCall) the held bytes hold; nil unless they end with one, between frames
    /// (extended-protocol messages still waiting for their Sync are no request yet: a cancel finds nothing to stop).
    public func heldRequests() -> Int? {
        var scan = FrameSplitter(intercept: FrameTypeSet(), observe: FrameTypeSet(), count: Self.requestFrames, maxFrameLength: Int(Int32.max))
        var requests = 0
        var endsWithRequest = false
        for b in held {
            try? scan.feed(b) {
                guard case .counted(let type) = $0 else { return }
                endsWithRequest = Self.requestEnds.contains(type)
                if endsWithRequest { requests += 1 }
            }
        }
        return scan.atFrameBoundary && endsWithRequest ? requests : nil
    }

    // MARK: bytes while linked

    /// Splits what the client sent into `outgoing` (and the replies it will get into `expected`): statements
    /// rewritten, session-changing SQL noticed, requests counted. `statements`: the linked server's.
    public mutating func relay<Catalog: StatementInterning>(_ buffer: ByteBuffer, statements: inout ServerStatementCache,
                                                           catalog: Catalog) throws -> ClientRelayEnd {
        // The splitter is taken out while it runs, as the frames it hands over change the rest of `self`.
        var splitter = self.splitter
        self.splitter = Self.standIn
        defer { self.splitter = splitter }
        var end = ClientRelayEnd.more
        do {
            try splitter.feedDirected(buffer) { event in
                switch event {
                case .bytes(let b):
                    if gate.holding { gate.hold(.bytes(b)) } else { outgoing.append(b) }
                case .counted(let type):
                    tracker.clientSent(type)
                case .observed(let type, let body):
                    return try observed(type, body, statements: &statements, catalog: catalog)
                case .cut:
                    outgoing.append(contentsOf: replacement)
                    replacement.removeAll(keepingCapacity: true)
                    gate.cut()
                case .intercepted:
                    throw Terminating()
                }
                return .pass
            }
        } catch is Terminating {
            end = .terminate
        }
        return end
    }

    private static let standIn = FrameSplitter(intercept: FrameTypeSet(), observe: FrameTypeSet(), maxFrameLength: 0)
    private struct Terminating: Error {}

    /// A frame outside session mode that may need rewriting, inspecting or its reply recorded.
    private mutating func observed<Catalog: StatementInterning>(_ type: UInt8, _ body: ByteBuffer, statements: inout ServerStatementCache,
                                                               catalog: Catalog) throws -> FrameVerdict {
        if watchesWrites { noteForCache(type, body) }
        var body = body
        var effect: SessionStateScan.Effect?
        if type == FrontendMessage.Code.query || type == FrontendMessage.Code.parse
            || (type == FrontendMessage.Code.bind && !sessionStatements.isEmpty) {
            effect = inspect(type, body, catalog: catalog)
            if effect?.pins == true, refusesPins {
                // The statement is replaced by one that raises the error, so the transaction fails as it would.
                let refused = Self.refusal(type, body)
                tracker.clientSent(type)
                if gate.holding && carriesStatements {
                    gate.hold(.frame(type: type, body: refused.body, dropsStatements: false))
                    return .drop
                }
                if type == FrontendMessage.Code.query || !carriesStatements || refused.name.isEmpty {
                    replacement.append(refused.frame)
                    if carriesStatements {
                        expected.append(type == FrontendMessage.Code.query ? .query : .parse(statement: nil, injected: false))
                    } else if type == FrontendMessage.Code.query {
                        expected.append(.query)
                    }
                    return .drop
                }
                body = refused.body
            }
        }
        tracker.clientSent(type)
        guard carriesStatements else {
            if let reply = Self.countedReply(type) { expected.append(reply) }
            return .pass
        }
        lastBatch.record(type, body)
        // Behind a Bind that waits for a description, in order; rewritten when it came.
        if gate.holding {
            gate.hold(.frame(type: type, body: body, dropsStatements: effect?.dropsStatements == true))
            return .drop
        }
        let rewritten = try rewriteFrame(type, body, dropsStatements: effect?.dropsStatements == true, statements: &statements, catalog: catalog)
        if case .waits(let statement) = rewritten {
            gate.closeAtCut(for: statement, bind: .frame(type: type, body: body, dropsStatements: false))
        }
        return rewritten.verdict
    }

    /// A frame through the rewriter, as it arrives or as the gate lets it go. A DEALLOCATE or DISCARD the rewriter let
    /// through (in a multi-statement query, inside a DO block, or naming a statement the client does not have) may drop
    /// shared statements: they are all forgotten (new names).
    mutating func rewriteFrame<Catalog: StatementInterning>(_ type: UInt8, _ body: ByteBuffer, dropsStatements: Bool,
                                                           statements: inout ServerStatementCache, catalog: Catalog) throws -> Rewritten {
        // Through the box itself: the two lists are changed in one call, which the session's accessors would overlap.
        let link = self.link.storage()
        let rewritten = try rewriter.rewrite(type, body, statements: &statements, catalog: catalog, out: &link.replacement, replies: &link.expected)
        if rewritten == .pass, dropsStatements { statements.removeAll() }
        return rewritten
    }

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

    // MARK: the stale-plan retry

    /// The batch as it must go again after its Bind failed with a stale cached plan (`answered`: the server's
    /// ReadyForQuery count without the held one), or nil to let the failure through: only if it is this client's one
    /// outstanding request and was not retried already.
    public mutating func batchForRetry<Catalog: StatementInterning>(answered: Int, statements: inout ServerStatementCache,
                                                                   catalog: Catalog) -> ([ByteBuffer], [PendingReply])? {
        guard tracker.sent == answered + 1, !tracker.unsynced, splitter.atFrameBoundary, lastBatch.replayable, !gate.holding else { return nil }
        lastBatch.markRetried()
        // The batch describes what it runs, so the client learns the new columns: its retired statements are prepared
        // afresh (by the rewriter, just below).
        rewriter.renew(retired: catalog.isRetired, intern: catalog.id(for:))
        var out: [ByteBuffer] = [], replies: [PendingReply] = []
        do {
            // The batch describes its portal: the client learns the columns, so they need no check.
            for (type, body) in lastBatch.frames {
                let verdict = try rewriter.rewrite(type, body, statements: &statements, catalog: catalog, checkShapes: false, out: &out, replies: &replies)
                if verdict == .pass { out.append(ServerSession.frame(type, body)) }
            }
        } catch {
            return nil
        }
        return (out, replies)
    }
}
