// PendingReplies as step tables: each message recorded or reply frame received, with the verdict, the made-up
// replies due, the Parses reported failed and the queue's state after it.
import PGWire
import SessionCore
import Testing

@Suite("PendingReplies")
struct PendingRepliesTests {
    enum Op: Sendable, CustomStringConvertible {
        case append(PendingReply)
        /// A backend frame of this type arrived.
        case received(Character)

        var description: String {
            switch self {
            case .append(let r): "append \(r)"
            case .received(let t): "received '\(t)'"
            }
        }
    }

    struct Step: Sendable {
        var op: Op
        /// Only for `.received`.
        var verdict: FrameVerdict?
        var out: [SyntheticReply]
        var failed: [FailedParse]
        var needsFrames: Bool
        var isEmpty: Bool
        var discarding: Bool
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var steps: [Step]
        var testDescription: String { name }
    }

    static func a(
        _ r: PendingReply, out: [SyntheticReply] = [], failed: [FailedParse] = [], needs: Bool, empty: Bool = false, discarding: Bool = false
    ) -> Step {
        Step(op: .append(r), verdict: nil, out: out, failed: failed, needsFrames: needs, isEmpty: empty, discarding: discarding)
    }

    static func r(
        _ t: Character, _ v: FrameVerdict, out: [SyntheticReply] = [], failed: [FailedParse] = [], needs: Bool, empty: Bool = false,
        discarding: Bool = false
    ) -> Step {
        Step(op: .received(t), verdict: v, out: out, failed: failed, needsFrames: needs, isEmpty: empty, discarding: discarding)
    }

    /// A Parse pgswift made up (its ParseComplete is hidden) and one the client sent.
    static func injected(_ id: Int) -> PendingReply { .parse(statement: id, injected: true) }
    static func client(_ id: Int?) -> PendingReply { .parse(statement: id, injected: false) }
    static func failedParse(_ id: Int, injected: Bool = false) -> FailedParse { FailedParse(statement: id, injected: injected) }

    /// pgswift's unnamed Parse of the statement that raises an error PostgreSQL would have raised (then its Bind and Execute).
    static let raising = PendingReply.parse(statement: nil, injected: true)

    static func executeEndingWith(_ end: Character) -> Scenario {
        Scenario(
            name: "Execute ends with '\(end)'",
            steps: [
                a(.bind, needs: true), a(.execute, needs: true), a(.synthetic(.closeComplete), needs: true), a(.sync, needs: true),
                r("2", .pass, needs: true),
                r("D", .pass, needs: true),
                r(end, .cutAfter, out: [.closeComplete], needs: false),
                r("Z", .pass, needs: false, empty: true),
            ])
    }

    static func describeEndingWith(_ end: Character) -> Scenario {
        Scenario(
            name: "Describe statement: 't' then '\(end)'",
            steps: [
                a(injected(1), needs: true), a(.describe, needs: true), a(.synthetic(.closeComplete), needs: true), a(.sync, needs: true),
                r("1", .drop, needs: true),
                // ParameterDescription answers nothing by itself: the Describe waits for its second frame.
                r("t", .pass, needs: true),
                r(end, .cutAfter, out: [.closeComplete], needs: false),
                r("Z", .pass, needs: false, empty: true),
            ])
    }

    static let scenarios: [Scenario] = [
        Scenario(
            name: "injected Parse: its ParseComplete is dropped",
            steps: [
                a(injected(1), needs: true), a(.bind, needs: true), a(.execute, needs: true), a(.sync, needs: true),
                r("1", .drop, needs: true),
                r("2", .pass, needs: true),
                r("D", .pass, needs: true),
                r("C", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "client Parse: its ParseComplete passes",
            steps: [
                a(client(1), needs: true), a(.sync, needs: true),
                r("1", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "synthetic ParseComplete first thing: due at append",
            steps: [
                a(.synthetic(.parseComplete), out: [.parseComplete], needs: false, empty: true),
                a(.bind, needs: true), a(.execute, needs: true), a(.sync, needs: true),
                r("2", .pass, needs: true),
                r("C", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "synthetic ParseComplete after a client Parse: right after its ParseComplete",
            steps: [
                a(client(1), needs: true), a(.synthetic(.parseComplete), needs: true), a(.sync, needs: true),
                r("1", .cutAfter, out: [.parseComplete], needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "synthetic reply after an injected Parse: in the dropped frame's place",
            steps: [
                a(injected(1), needs: true), a(.synthetic(.closeComplete), needs: true), a(.sync, needs: true),
                r("1", .drop, out: [.closeComplete], needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "synthetic replies in a row come out together",
            steps: [
                a(.bind, needs: true), a(.synthetic(.parseComplete), needs: true), a(.synthetic(.closeComplete), needs: true),
                a(.execute, needs: true), a(.sync, needs: true),
                r("2", .cutAfter, out: [.parseComplete, .closeComplete], needs: true),
                r("C", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "synthetic reply after a Sync: right after its ReadyForQuery",
            steps: [
                a(.bind, needs: true), a(.sync, needs: true), a(.synthetic(.parseComplete), needs: true), a(.sync, needs: true),
                r("2", .pass, needs: true),
                r("Z", .cutAfter, out: [.parseComplete], needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "error raised by the server for pgswift: injected Parse and Bind hidden, the Execute's error passes and skips to Sync",
            steps: [
                a(client(nil), needs: true), a(raising, needs: true), a(.injectedBind, needs: true), a(.execute, needs: true),
                a(client(2), needs: true), a(.synthetic(.parseComplete), needs: true), a(.bind, needs: true), a(.sync, needs: true),
                a(client(nil), needs: true), a(.bind, needs: true), a(.execute, needs: true), a(.sync, needs: true),
                r("1", .pass, needs: true),
                r("1", .drop, needs: true),
                r("2", .drop, needs: true),
                // The client's Parse after it was skipped by the server: reported failed; the made-up reply goes with it.
                r("E", .pass, failed: [failedParse(2)], needs: true),
                r("Z", .pass, needs: true),
                // The client's own BindComplete passes.
                r("1", .pass, needs: true),
                r("2", .pass, needs: true),
                r("C", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "pgswift's raising Parse itself fails (aborted transaction): its error passes, its Bind and Execute are skipped",
            steps: [
                a(raising, needs: true), a(.injectedBind, needs: true), a(.execute, needs: true), a(.sync, needs: true),
                r("E", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "error raised for pgswift with no Sync queued: later messages skipped until Sync",
            steps: [
                a(raising, needs: true), a(.injectedBind, needs: true), a(.execute, needs: true),
                r("1", .drop, needs: true),
                r("2", .drop, needs: true),
                r("E", .pass, needs: false, empty: true, discarding: true),
                a(raising, needs: false, empty: true, discarding: true),
                a(.injectedBind, needs: false, empty: true, discarding: true),
                a(.execute, needs: false, empty: true, discarding: true),
                a(.sync, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "injected Close hidden, client Close shown",
            steps: [
                a(.close(injected: true), needs: true), a(client(2), needs: true), a(.close(injected: false), needs: true), a(.sync, needs: true),
                r("3", .drop, needs: true),
                r("1", .pass, needs: true),
                r("3", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "error on an extended message skips to Sync; skipped named Parses fail",
            steps: [
                a(client(1), needs: true), a(.bind, needs: true), a(injected(2), needs: true), a(.describe, needs: true),
                a(.execute, needs: true), a(.synthetic(.parseComplete), needs: true), a(client(nil), needs: true), a(.sync, needs: true),
                a(.bind, needs: true), a(.execute, needs: true), a(.sync, needs: true),
                // The first Parse failed; everything up to the Sync is skipped, the made-up ParseComplete with it.
                r("E", .pass, failed: [failedParse(1), failedParse(2, injected: true)], needs: true),
                r("Z", .pass, needs: true),
                r("2", .pass, needs: true),
                r("C", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "error on a Bind after its Parse completed",
            steps: [
                a(client(1), needs: true), a(.bind, needs: true), a(client(2), needs: true), a(.sync, needs: true),
                r("1", .pass, needs: true),
                r("E", .pass, failed: [failedParse(2)], needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "error with no Sync queued: later messages skipped until Sync",
            steps: [
                a(client(nil), needs: true), a(.bind, needs: true), a(.execute, needs: true),
                r("1", .pass, needs: true),
                r("E", .pass, needs: false, empty: true, discarding: true),
                a(client(3), failed: [failedParse(3)], needs: false, empty: true, discarding: true),
                a(injected(4), failed: [failedParse(4, injected: true)], needs: false, empty: true, discarding: true),
                a(.synthetic(.parseComplete), needs: false, empty: true, discarding: true),
                a(.describe, needs: false, empty: true, discarding: true),
                a(.sync, needs: false),
                r("Z", .pass, needs: false, empty: true),
                a(.synthetic(.parseComplete), out: [.parseComplete], needs: false, empty: true),
            ]),
        Scenario(
            name: "error during a Query skips nothing",
            steps: [
                a(.query, needs: false), a(client(1), needs: true), a(.sync, needs: true),
                r("T", .pass, needs: true),
                r("E", .pass, needs: true),
                r("Z", .pass, needs: true),
                r("1", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "error at Sync (deferred constraint) skips nothing",
            steps: [
                a(.bind, needs: true), a(.execute, needs: true), a(.sync, needs: true), a(.bind, needs: true), a(.execute, needs: true), a(.sync, needs: true),
                r("2", .pass, needs: true),
                r("C", .pass, needs: true),
                r("E", .pass, needs: true),
                r("Z", .pass, needs: true),
                r("2", .pass, needs: true),
                r("C", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "DEALLOCATE the server never had: due at once",
            steps: [
                a(.synthetic(.deallocated), out: [.deallocated], needs: false, empty: true),
            ]),
        Scenario(
            name: "DEALLOCATE the server never had, after a Query: right after its ReadyForQuery",
            steps: [
                a(.query, needs: false), a(.synthetic(.deallocated), needs: true),
                r("C", .pass, needs: true),
                r("Z", .cutAfter, out: [.deallocated], needs: false, empty: true),
            ]),
        describeEndingWith("T"),
        describeEndingWith("n"),
        executeEndingWith("C"),
        executeEndingWith("I"),
        executeEndingWith("s"),
        Scenario(
            name: "ReadyForQuery pops through its own Sync only",
            steps: [
                a(.sync, needs: false), a(.query, needs: false), a(.sync, needs: false),
                r("Z", .pass, needs: false),
                r("Z", .pass, needs: false),
                r("Z", .pass, needs: false, empty: true),
                // Nothing owed: passes and changes nothing.
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "ReadyForQuery before the owed replies: they are skipped, named Parses fail",
            steps: [
                a(client(4), needs: true), a(.bind, needs: true), a(injected(5), needs: true), a(.sync, needs: true), a(.query, needs: true),
                r("Z", .pass, failed: [failedParse(4), failedParse(5, injected: true)], needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
        Scenario(
            name: "frames that answer nothing owed pass and pop nothing",
            steps: [
                a(injected(1), needs: true), a(.injectedBind, needs: true), a(.sync, needs: true),
                r("N", .pass, needs: true),
                r("S", .pass, needs: true),
                r("2", .pass, needs: true),
                r("C", .pass, needs: true),
                r("3", .pass, needs: true),
                r("1", .drop, needs: true),
                r("1", .pass, needs: true),
                r("C", .pass, needs: true),
                r("2", .drop, needs: false),
                r("Z", .pass, needs: false, empty: true),
            ]),
    ]

    @Test(arguments: scenarios)
    func steps(_ s: Scenario) {
        var q = PendingReplies()
        #expect(q.isEmpty && !q.needsFrames && !q.discarding)
        for (i, step) in s.steps.enumerated() {
            var out: [SyntheticReply] = []
            var failed: [FailedParse] = []
            let at = Comment(rawValue: "step \(i): \(step.op)")
            switch step.op {
            case .append(let reply):
                q.append(reply, out: &out, failed: &failed)
            case .received(let t):
                let verdict = q.received(t.asciiValue!, out: &out, failed: &failed)
                #expect(verdict == step.verdict, at)
            }
            #expect(out == step.out, at)
            #expect(failed == step.failed, at)
            #expect(q.needsFrames == step.needsFrames, at)
            #expect(q.isEmpty == step.isEmpty, at)
            #expect(q.discarding == step.discarding, at)
        }
    }

    /// Which failed Binds may be sent again (cached plan must not change result type): only a Bind at the head of
    /// the one batch outstanding.
    @Test(arguments: [
        ([PendingReply.bind, .execute, .sync], true),
        ([PendingReply.bind, .describe, .execute, .sync], true),
        ([PendingReply.bind, .execute], false),
        ([PendingReply.bind, .execute, .sync, .bind, .execute, .sync], false),
        ([PendingReply.bind, .execute, .sync, .query], false),
        ([PendingReply.execute, .sync], false),
        ([PendingReply.injectedBind, .execute, .sync], false),
    ])
    func failedBindIsAlone(_ queue: [PendingReply], _ alone: Bool) {
        var q = PendingReplies()
        var out: [SyntheticReply] = []
        var failed: [FailedParse] = []
        for r in queue { q.append(r, out: &out, failed: &failed) }
        #expect(q.failedBindIsAlone == alone)
    }

    @Test func abandonedBatchIsForgottenWithItsSkippedReplies() {
        var q = PendingReplies()
        var out: [SyntheticReply] = []
        var failed: [FailedParse] = []
        // Bind, a Close of a client name (answered by pgswift), Execute, Sync.
        for r in [PendingReply.bind, .synthetic(.closeComplete), .execute, .sync] { q.append(r, out: &out, failed: &failed) }
        #expect(q.failedBindIsAlone)
        q.abandonBatch(failed: &failed)
        #expect(q.isEmpty && !q.needsFrames && !q.discarding)
        #expect(failed.isEmpty)
        // The made-up CloseComplete never went out: its change is undone.
        #expect(q.takeOutcomes() == [false])
        // Sent again, the batch is answered normally.
        for r in [PendingReply.bind, .execute, .sync] { q.append(r, out: &out, failed: &failed) }
        #expect(q.received(UInt8(ascii: "2"), out: &out, failed: &failed) == .pass)
        #expect(q.received(UInt8(ascii: "C"), out: &out, failed: &failed) == .pass)
        #expect(q.received(UInt8(ascii: "Z"), out: &out, failed: &failed) == .pass)
        #expect(q.isEmpty)
    }

    /// COPY FROM STDIN run by Execute: PostgreSQL ignores the Syncs it receives in copy-in mode; they are counted as
    /// answered with the copy's own ReadyForQuery, and the queue stays in step.
    @Test(arguments: [false, true])
    func copyInByExecute(copyEndBeforeCopyIn: Bool) {
        var q = PendingReplies()
        var out: [SyntheticReply] = []
        var failed: [FailedParse] = []
        func got(_ t: Character) -> FrameVerdict { q.received(t.asciiValue!, out: &out, failed: &failed) }
        // libpq's PQexecParams: Parse, Bind, Describe, Execute, Sync; after the data, CopyDone and another Sync.
        for r in [Self.client(nil), .bind, .describe, .execute, .sync] { q.append(r, out: &out, failed: &failed) }
        #expect(got("1") == .pass && got("2") == .pass && got("n") == .pass)
        if copyEndBeforeCopyIn {
            // A client that streams its data without waiting for CopyInResponse.
            q.append(.copyEnd, out: &out, failed: &failed)
            q.append(.sync, out: &out, failed: &failed)
        }
        #expect(got("G") == .pass)
        if !copyEndBeforeCopyIn {
            #expect(q.copyIn)
            q.append(.copyEnd, out: &out, failed: &failed)
            q.append(.sync, out: &out, failed: &failed)
        }
        #expect(!q.copyIn)
        #expect(got("C") == .pass)
        #expect(q.count == 1)
        #expect(got("Z") == .pass)
        #expect(q.isEmpty && !q.needsFrames)
        #expect(q.takeIgnoredSyncs() == 1)
        #expect(q.takeIgnoredSyncs() == 0)
        #expect(failed.isEmpty && out.isEmpty)
    }

    @Test func copyInFailureEndsCopyMode() {
        var q = PendingReplies()
        var out: [SyntheticReply] = []
        var failed: [FailedParse] = []
        for r in [PendingReply.bind, .execute, .sync] { q.append(r, out: &out, failed: &failed) }
        _ = q.received(UInt8(ascii: "2"), out: &out, failed: &failed)
        _ = q.received(UInt8(ascii: "G"), out: &out, failed: &failed)
        #expect(q.copyIn && q.count == 1)
        // Bad data: the error ends the copy, and PostgreSQL answers the next Sync the client sends.
        _ = q.received(UInt8(ascii: "E"), out: &out, failed: &failed)
        #expect(!q.copyIn && q.discarding)
        q.append(.copyEnd, out: &out, failed: &failed)
        q.append(.sync, out: &out, failed: &failed)
        #expect(!q.discarding && q.count == 1)
        _ = q.received(UInt8(ascii: "Z"), out: &out, failed: &failed)
        #expect(q.isEmpty && q.takeIgnoredSyncs() == 1)
    }

    @Test func messageBehindCopyFailsIt() {
        var q = PendingReplies()
        var out: [SyntheticReply] = []
        var failed: [FailedParse] = []
        // COPY by Execute with its Sync, and another batch pipelined behind it before the data: PostgreSQL ignores
        // the first Sync, fails the copy at the Bind (08P01) and answers the second Sync.
        for r in [PendingReply.bind, .execute, .sync, .bind, .execute, .sync] { q.append(r, out: &out, failed: &failed) }
        _ = q.received(UInt8(ascii: "2"), out: &out, failed: &failed)
        _ = q.received(UInt8(ascii: "G"), out: &out, failed: &failed)
        #expect(!q.copyIn && q.count == 4)
        _ = q.received(UInt8(ascii: "E"), out: &out, failed: &failed)
        #expect(q.count == 1)
        _ = q.received(UInt8(ascii: "Z"), out: &out, failed: &failed)
        #expect(q.isEmpty && q.takeIgnoredSyncs() == 1)
        // A message appended during copy-in other than Sync also ends it: a later Sync is answered.
        for r in [PendingReply.bind, .execute, .sync] { q.append(r, out: &out, failed: &failed) }
        _ = q.received(UInt8(ascii: "2"), out: &out, failed: &failed)
        _ = q.received(UInt8(ascii: "G"), out: &out, failed: &failed)
        #expect(q.copyIn && q.takeIgnoredSyncs() == 1)
        q.append(.query, out: &out, failed: &failed)
        #expect(!q.copyIn)
        q.append(.sync, out: &out, failed: &failed)
        #expect(q.count == 3 && q.takeIgnoredSyncs() == 0)
    }

    @Test func copyEndWithoutCopyIsForgotten() {
        var q = PendingReplies()
        var out: [SyntheticReply] = []
        var failed: [FailedParse] = []
        // An Execute that was no COPY, and a stray CopyDone after it (PostgreSQL ignores those too).
        for r in [PendingReply.bind, .execute, .copyEnd, .bind, .execute, .sync] { q.append(r, out: &out, failed: &failed) }
        for t: Character in ["2", "C", "2", "C"] { #expect(q.received(t.asciiValue!, out: &out, failed: &failed) == .pass) }
        #expect(q.count == 1)
        _ = q.received(UInt8(ascii: "Z"), out: &out, failed: &failed)
        #expect(q.isEmpty && !q.needsFrames && q.takeIgnoredSyncs() == 0)
    }

    @Test func countFollowsTheQueue() {
        var q = PendingReplies()
        var out: [SyntheticReply] = []
        var failed: [FailedParse] = []
        for r in [Self.client(1), .bind, .execute, .sync] { q.append(r, out: &out, failed: &failed) }
        #expect(q.count == 4)
        _ = q.received(UInt8(ascii: "1"), out: &out, failed: &failed)
        #expect(q.count == 3)
        _ = q.received(UInt8(ascii: "E"), out: &out, failed: &failed)
        #expect(q.count == 1)
        _ = q.received(UInt8(ascii: "Z"), out: &out, failed: &failed)
        #expect(q.count == 0)
        #expect(out.isEmpty && failed.isEmpty)
    }

    @Test func removeAllForgetsEverythingAndEndsDiscarding() {
        var q = PendingReplies()
        var out: [SyntheticReply] = []
        var failed: [FailedParse] = []
        q.append(.bind, out: &out, failed: &failed)
        _ = q.received(UInt8(ascii: "E"), out: &out, failed: &failed)
        #expect(q.discarding)
        q.removeAll()
        #expect(q.isEmpty && !q.needsFrames && !q.discarding && q.count == 0)
        q.append(Self.injected(1), out: &out, failed: &failed)
        #expect(q.needsFrames)
        q.removeAll()
        #expect(q.isEmpty && !q.needsFrames)
        #expect(q.received(UInt8(ascii: "1"), out: &out, failed: &failed) == .pass)
        #expect(out.isEmpty && failed.isEmpty)
    }
}
