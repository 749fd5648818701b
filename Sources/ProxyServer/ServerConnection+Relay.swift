// What a linked server says, on its way to the client: reply frames observed, injected replies hidden, made-up ones
// placed, ReadyForQuery counted and timed, and the batch handed over at the end of each read.
import NIOCore
import PGWire
import PoolCore

extension ServerConnection {
    func relay(_ buffer: ByteBuffer) {
        splitter.observe = replies.needsFrames ? Self.detailedReplies : Self.essentialReplies
        do {
            try splitter.feedDirected(buffer) { event in
                switch event {
                case .bytes(let b):
                    outgoing.append(b)
                case .observed(let type, var body):
                    if let verdict = retryVerdict(type, body) { return verdict }
                    if type == BackendMessage.Code.errorResponse, linkedClient != nil, let counters {
                        // Counted as the client will see it (an error held back for a retry is not).
                        counters.errors[ErrorFields.parse(body)?.sqlState ?? "XX000", default: 0] += 1
                    }
                    observe(type, &body)
                    if !replies.isEmpty { return replies.received(type, out: &synthesized, failed: &failedParses) }
                case .cut:
                    if !held.release.isEmpty {
                        outgoing.append(contentsOf: held.release)
                        held.release.removeAll()
                    }
                    appendSynthesized()
                case .intercepted, .counted:
                    break
                }
                return .pass
            }
        } catch {
            fail(.protocolViolation("server sent a malformed message: \(error)"))
        }
    }

    /// Writes the made-up replies that are due into the bytes for the client.
    func appendSynthesized() {
        guard !synthesized.isEmpty, let context else { return }
        var out = context.channel.allocator.buffer(capacity: 16 * synthesized.count)
        for reply in synthesized {
            switch reply {
            case .parseComplete: BackendMessage.parseComplete.encode(into: &out)
            case .closeComplete: BackendMessage.closeComplete.encode(into: &out)
            case .deallocated:
                // In an aborted transaction PostgreSQL refuses the DEALLOCATE like any other command.
                if lastStatus == .failedTransaction {
                    PGError("25P02", "current transaction is aborted, commands ignored until end of transaction block").encode(into: &out)
                } else {
                    BackendMessage.commandComplete(tag: "DEALLOCATE").encode(into: &out)
                }
                BackendMessage.readyForQuery(lastStatus).encode(into: &out)
                readyCount += 1
            }
        }
        synthesized.removeAll(keepingCapacity: true)
        outgoing.append(out)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        deliverToClient()
        if held.askClient { askClientToRetry() }
    }

    /// Hands what the server said (and what was made up for it) to the linked client.
    func deliverToClient() {
        guard let peer = linkedClient, !outgoing.isEmpty else { return }
        let answered = readyCount, status = lastStatus, boundary = splitter.atFrameBoundary
        let failed = failedParses
        if !failed.isEmpty { failedParses.removeAll() }
        let outcomes = replies.takeOutcomes()
        let reported = settingReported
        settingReported = false
        if linkedSameLoop {
            // Same thread: hand the array over without copying it, then reuse its storage. The client may give
            // this server back and a waiting client may take it and write to it before the call returns, so
            // `outgoing` is emptied first and only gets its storage back if nothing was added meanwhile.
            var batch: [ByteBuffer] = []
            swap(&batch, &outgoing)
            peer.deliverFromServer(batch, from: self, answered: answered, status: status, atBoundary: boundary, failed: failed, madeUp: outcomes,
                                       settingReported: reported)
            batch.removeAll(keepingCapacity: true)
            if outgoing.isEmpty { swap(&batch, &outgoing) }
        } else {
            let batch = outgoing
            outgoing = []
            peer.eventLoop.execute {
                peer.deliverFromServer(batch, from: self, answered: answered, status: status, atBoundary: boundary, failed: failed, madeUp: outcomes,
                                       settingReported: reported)
            }
        }
    }

    func observe(_ type: UInt8, _ body: inout ByteBuffer) {
        if type == BackendMessage.Code.readyForQuery {
            // Syncs PostgreSQL ignored during a COPY FROM STDIN run by Execute count as answered with this one (not
            // before: the link must hold until the copy's own ReadyForQuery).
            readyCount += 1 + replies.takeIgnoredSyncs()
            if let raw = body.readInteger(as: UInt8.self), let s = TransactionStatus(rawValue: raw) { lastStatus = s }
            if linkedClient != nil { countReady() }
        } else if type == BackendMessage.Code.parameterStatus, let name = body.readNullTerminatedString(), let value = body.readNullTerminatedString() {
            parameters[name] = value
            // A reported setting changed by the client's SQL, possibly where no scan can see it (inside a function).
            if linkedClient != nil { settingReported = true }
        }
    }

    /// A query ended (and, back to idle, a transaction): PgBouncer's xact/query counts and times.
    func countReady() {
        guard let counters else { return }
        let now = NIODeadline.now()
        counters.totals.queries += 1
        // Pipelined queries: each is timed from the end of the one before, so the times add up to the busy time.
        let nanos = (now - max(lastWrite, lastReady)).nanoseconds
        let micros = Int(nanos / 1000)
        counters.totals.queryTime += micros
        counters.timeQuery(nanos)
        counters.latency.record(microseconds: UInt64(max(micros, 0)), now: Double(now.uptimeNanoseconds) / 1e9)
        lastReady = now
        if lastStatus == .idle {
            counters.totals.xacts += 1
            let nanos = (now - (transactionStart ?? lastWrite)).nanoseconds
            counters.totals.xactTime += Int(nanos / 1000)
            counters.timeTransaction(nanos)
            transactionStart = nil
        }
    }
}
