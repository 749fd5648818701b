// The replies a server owes for what was sent to it, in order: hides replies to pgswift's own messages and places made-up ones.
import PGWire

/// A reply pgswift makes up for a message it answered without the server.
public enum SyntheticReply: Equatable, Sendable {
    case parseComplete
    case closeComplete
    /// CommandComplete "DEALLOCATE" and a ReadyForQuery: a DEALLOCATE of a statement the server never had.
    case deallocated
}

/// One message sent to the server (or answered in its place), as the reply it will get.
public enum PendingReply: Equatable, Sendable {
    /// `statement` is the shared statement's id for a named Parse; injected ones were pgswift's, so their reply is hidden.
    case parse(statement: Int?, injected: Bool)
    case bind
    /// A client's Bind of one of its named statements, as the shared statement it runs: a stale-plan failure names it.
    case namedBind(statement: Int)
    /// pgswift's own Bind (of the statement that raises an error PostgreSQL would have raised): its reply is hidden.
    case injectedBind
    case describe
    /// A Describe of a shared statement: its ParameterDescription and RowDescription (or NoData) tell the statement's
    /// shape. `token` is the client's own request; nil for the one pgswift sends, whose replies are dropped.
    case describeStatement(statement: Int, token: Int?)
    case execute
    /// pgswift's own Execute of the statement that raises an error PostgreSQL would have raised: its ErrorResponse
    /// loses the CONTEXT line PL/pgSQL adds, which PostgreSQL's own error would not have.
    case raise
    case close(injected: Bool)
    /// Sync: ends the discarding that follows an error.
    case sync
    /// Query or FunctionCall: answered up to ReadyForQuery, or not at all while discarding.
    case query
    /// CopyDone or CopyFail: no reply of its own, but it ends copy-in mode (see `received` for CopyInResponse).
    case copyEnd
    case synthetic(SyntheticReply)
}

/// A Parse the server did not carry out (it failed, or was skipped after an earlier error).
public struct FailedParse: Equatable, Sendable {
    public let statement: Int
    public let injected: Bool

    public init(statement: Int, injected: Bool) {
        self.statement = statement
        self.injected = injected
    }
}

/// Pure bookkeeping, fed the type of every reply frame while `needsFrames`; otherwise only ReadyForQuery
/// and ErrorResponse matter and the caller may feed just those.
public struct PendingReplies: Sendable, Equatable {
    private var items: [PendingReply] = []
    private var head = 0
    /// Entries other than `.sync`/`.query`: while there are some, each reply frame must be looked at.
    private var detailed = 0
    /// An extended-protocol message failed and no Sync has been sent since: the server ignores what comes.
    public private(set) var discarding = false
    /// For each made-up reply and each injected Close, in order, whether it went out / ran (true) or was skipped
    /// after an error (false): what the client's rewriter did for it must then be undone, as PostgreSQL never ran it.
    private var outcomes: [Bool] = []
    /// An Execute started COPY FROM STDIN (CopyInResponse) and the client has not ended the copy yet: PostgreSQL
    /// ignores the Syncs it receives meanwhile, so they get no ReadyForQuery.
    public private(set) var copyIn = false
    /// Syncs PostgreSQL ignored in copy-in mode, not yet taken by the caller (which counts them as answered).
    private var ignoredSyncs = 0
    /// Describes of shared statements that failed or were skipped, not yet taken by the caller.
    private var unansweredDescribes: [DescribedStatement] = []

    public init() {}

    public var isEmpty: Bool { head == items.count }
    /// The shared statement whose ParseComplete is owed next, if that is what comes next.
    public var parseDue: Int? {
        if case .parse(let id?, _) = peek() { return id }
        return nil
    }
    /// The shared statement whose Bind is answered next, if that is what comes next.
    public var bindDue: Int? {
        if case .namedBind(let id) = peek() { return id }
        return nil
    }
    /// The Describe of a shared statement whose replies come next, if that is what comes next.
    public var describeDue: (statement: Int, token: Int?)? {
        if case .describeStatement(let id, let token) = peek() { return (id, token) }
        return nil
    }
    /// Describes of shared statements that failed or were skipped since the last call, or might be.
    public var hasUnansweredDescribes: Bool { !unansweredDescribes.isEmpty }
    /// The next reply owed is the error pgswift had the server raise.
    public var raisedErrorDue: Bool { peek() == .raise }
    public var needsFrames: Bool { detailed > 0 }
    public var count: Int { items.count - head }

    /// Records a message sent (or answered in its place). Synthetic replies that are due at once go to `out`.
    public mutating func append(_ reply: PendingReply, out: inout [SyntheticReply], failed: inout [FailedParse]) {
        if reply == .copyEnd {
            if copyIn {
                copyIn = false
                return
            }
            // Sent before the CopyInResponse arrived: kept as a marker where the copy will end, if one begins.
            guard items[head...].contains(.execute) else { return }
        }
        if copyIn {
            if reply == .sync {
                ignoredSyncs += 1
                return
            }
            // Anything but Sync or Flush in copy-in mode makes PostgreSQL fail the copy; the next Sync is answered.
            copyIn = false
        }
        if discarding {
            if reply == .sync {
                discarding = false
            } else {
                skipped(reply, failed: &failed)
                return
            }
        }
        items.append(reply)
        if reply != .sync && reply != .query { detailed += 1 }
        pump(&out)
    }

    /// The server sent a frame of `type`. Returns whether to forward it; synthetic replies due right after it go to `out`.
    public mutating func received(_ type: UInt8, out: inout [SyntheticReply], failed: inout [FailedParse]) -> FrameVerdict {
        guard let first = peek() else { return .pass }
        var verdict = FrameVerdict.pass
        switch type {
        case BackendMessage.Code.readyForQuery:
            while let e = pop() {
                if e == .sync || e == .query { break }
                skipped(e, failed: &failed)
            }
        case BackendMessage.Code.copyInResponse:
            // COPY FROM STDIN by Execute: the Syncs sent after it and before the copy's end are ignored by PostgreSQL.
            guard first == .execute else { return .pass }
            let i = head + 1
            copyIn = true
            while i < items.count {
                switch items[i] {
                case .sync:
                    items.remove(at: i)
                    ignoredSyncs += 1
                    continue
                case .copyEnd:
                    items.remove(at: i)
                    detailed -= 1
                    copyIn = false
                default:
                    // Another message sent behind the COPY fails it (PostgreSQL answers the Sync after that).
                    copyIn = false
                }
                break
            }
            return .pass
        case BackendMessage.Code.errorResponse:
            // An error ends copy-in mode: PostgreSQL then discards messages up to the next Sync, which it answers.
            copyIn = false
            // A Query keeps going to its ReadyForQuery; any other message fails and the server skips to the next Sync.
            guard first != .sync && first != .query else { return .pass }
            _ = pop()
            switch first {
            case .parse(let id?, let injected): failed.append(FailedParse(statement: id, injected: injected))
            case .describeStatement: skipped(first, failed: &failed)
            default: break
            }
            while let e = peek(), e != .sync {
                _ = pop()
                skipped(e, failed: &failed)
            }
            if isEmpty { discarding = true }
            return .pass
        case BackendMessage.Code.parseComplete:
            guard case .parse(_, let injected) = first else { return .pass }
            _ = pop()
            if injected { verdict = .drop }
        case BackendMessage.Code.bindComplete:
            guard first == .bind || first == .injectedBind || first.isNamedBind else { return .pass }
            _ = pop()
            if first == .injectedBind { verdict = .drop }
        case BackendMessage.Code.closeComplete:
            guard case .close(let injected) = first else { return .pass }
            _ = pop()
            if injected {
                verdict = .drop
                outcomes.append(true)
            }
        case BackendMessage.Code.parameterDescription:
            // The first half of a statement's description: its row description (or NoData) follows.
            guard case .describeStatement(_, let token) = first else { return .pass }
            return token == nil ? .drop : .pass
        case BackendMessage.Code.rowDescription, BackendMessage.Code.noData:
            if case .describeStatement(_, let token) = first {
                _ = pop()
                if token == nil { verdict = .drop }
            } else {
                guard first == .describe else { return .pass }
                _ = pop()
            }
        case BackendMessage.Code.commandComplete, BackendMessage.Code.emptyQueryResponse, BackendMessage.Code.portalSuspended:
            guard first == .execute || first == .raise else { return .pass }
            _ = pop()
        default:
            return .pass
        }
        let before = out.count
        pump(&out)
        if out.count > before && verdict == .pass { verdict = .cutAfter }
        return verdict
    }

    /// The server failed the head entry, a Bind, and that Bind's batch (up to its Sync) is all that is outstanding:
    /// the batch could be sent again as if the failure never happened (see `abandonBatch`).
    public var failedBindIsAlone: Bool {
        guard let first = peek(), first == .bind || first.isNamedBind, let sync = items[head...].firstIndex(of: .sync) else { return false }
        return sync == items.count - 1 && !items[head..<sync].contains(.query)
    }

    /// What is outstanding ends at its first Query or Sync: one request, nothing pipelined behind it.
    public var oneRequestLeft: Bool {
        guard let end = items[head...].firstIndex(where: { $0 == .query || $0 == .sync }) else { return false }
        return end == items.count - 1
    }

    /// Forgets the failed batch (see `failedBindIsAlone`) as the server does, Sync included: what it made up or
    /// injected counts as skipped. Its ReadyForQuery is the caller's to hide.
    public mutating func abandonBatch(failed: inout [FailedParse]) {
        while let e = pop() { skipped(e, failed: &failed) }
    }

    /// Syncs PostgreSQL ignored in copy-in mode since the last call: answered, as far as counting goes.
    public mutating func takeIgnoredSyncs() -> Int {
        defer { ignoredSyncs = 0 }
        return ignoredSyncs
    }

    /// Describes of shared statements that failed or were skipped since the last call.
    public mutating func takeUnansweredDescribes() -> [DescribedStatement] {
        guard !unansweredDescribes.isEmpty else { return [] }
        defer { unansweredDescribes.removeAll(keepingCapacity: true) }
        return unansweredDescribes
    }

    /// The outcomes of made-up replies since the last call, oldest first.
    public mutating func takeOutcomes() -> [Bool] {
        guard !outcomes.isEmpty else { return [] }
        defer { outcomes.removeAll(keepingCapacity: true) }
        return outcomes
    }

    /// Forgets everything (the server is gone or was reset).
    public mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        head = 0
        detailed = 0
        discarding = false
        copyIn = false
        ignoredSyncs = 0
        outcomes.removeAll()
        unansweredDescribes.removeAll()
    }

    private func peek() -> PendingReply? {
        head < items.count ? items[head] : nil
    }

    private mutating func pop() -> PendingReply? {
        guard head < items.count else { return nil }
        let e = items[head]
        head += 1
        if e != .sync && e != .query { detailed -= 1 }
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return e
    }

    /// Synthetic replies at the head are due now: nothing the server owes comes before them. A copy-end marker at the
    /// head has outlived the Executes before it: none of them began a copy.
    private mutating func pump(_ out: inout [SyntheticReply]) {
        while let e = peek() {
            if case .synthetic(let s) = e {
                out.append(s)
                outcomes.append(true)
            } else if e != .copyEnd {
                return
            }
            _ = pop()
        }
    }

    private mutating func skipped(_ reply: PendingReply, failed: inout [FailedParse]) {
        switch reply {
        case .parse(let id?, let injected): failed.append(FailedParse(statement: id, injected: injected))
        case .synthetic, .close(injected: true): outcomes.append(false)
        case .describeStatement(let id, let token): unansweredDescribes.append(DescribedStatement(statement: id, token: token, shape: nil))
        default: break
        }
    }
}

extension PendingReply {
    var isNamedBind: Bool {
        if case .namedBind = self { return true }
        return false
    }
}
