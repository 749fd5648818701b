// ServerReturn as a step table: every way a client lets go of its server, against every condition the server is in.
import PGWire
import SessionCore
import Testing

@Suite("ServerReturn")
struct ServerReturnTests {
    /// A server that answered `answered` requests and is otherwise ready for the next client.
    static func ready(_ answered: Int = 1, status: TransactionStatus = .idle, quiet: Bool = true, open: Bool = true,
                      closeRequested: Bool = false, reset: Bool = true, always: Bool = false) -> ServerCondition {
        ServerCondition(answered: answered, status: status, quiet: quiet, open: open, closeRequested: closeRequested,
                        hasResetQuery: reset, resetAlways: always)
    }

    struct Step: Sendable, CustomTestStringConvertible {
        var why: String
        var letGo: LetGo
        var server: ServerCondition
        var fate: ServerFate
        var testDescription: String { why }
    }

    static let steps: [Step] = [
        // Transaction mode, between transactions.
        Step(why: "never linked: its waiter left", letGo: .untouched, server: ready(always: true), fate: .reuse),
        Step(why: "never linked, but RECONNECT asked", letGo: .untouched, server: ready(closeRequested: true), fate: .close),
        Step(why: "transaction ended, idle", letGo: .done(keepsSession: false, pinned: false), server: ready(), fate: .reuse),
        Step(why: "transaction ended, reset query but not always", letGo: .done(keepsSession: false, pinned: false), server: ready(reset: true), fate: .reuse),
        Step(why: "transaction ended, server_reset_query_always", letGo: .done(keepsSession: false, pinned: false), server: ready(always: true), fate: .reset),
        Step(why: "server_reset_query_always without a reset query", letGo: .done(keepsSession: false, pinned: false), server: ready(reset: false, always: true), fate: .reuse),
        Step(why: "transaction ended but RECONNECT asked", letGo: .done(keepsSession: false, pinned: false), server: ready(closeRequested: true), fate: .close),
        Step(why: "transaction ended but a made-up reply still owed", letGo: .done(keepsSession: false, pinned: false), server: ready(quiet: false), fate: .cancelThenClose),
        Step(why: "transaction ended but server in a transaction", letGo: .done(keepsSession: false, pinned: false), server: ready(status: .inTransaction), fate: .cancelThenClose),
        Step(why: "transaction ended but connection closed", letGo: .done(keepsSession: false, pinned: false), server: ready(open: false), fate: .close),
        // Session mode, the client logs out with everything answered.
        Step(why: "session ends, reset query", letGo: .done(keepsSession: true, pinned: false), server: ready(), fate: .reset),
        Step(why: "session ends, no reset query", letGo: .done(keepsSession: true, pinned: false), server: ready(reset: false), fate: .reuse),
        // A pinned client whose probe finished after it left.
        Step(why: "pinned, reset clears it", letGo: .done(keepsSession: true, pinned: true), server: ready(), fate: .reset),
        Step(why: "pinned, nothing can clear it", letGo: .done(keepsSession: true, pinned: true), server: ready(reset: false), fate: .close),
        // Terminate between transactions or at the end of a session: all answered.
        Step(why: "client left, all answered, transaction mode", letGo: .clientLeft(sent: 3, halfSent: false, keepsSession: false, pinned: false),
             server: ready(3), fate: .reuse),
        Step(why: "client left, all answered, session mode", letGo: .clientLeft(sent: 3, halfSent: false, keepsSession: true, pinned: false),
             server: ready(3), fate: .reset),
        Step(why: "client left, pinned, all answered", letGo: .clientLeft(sent: 1, halfSent: false, keepsSession: true, pinned: true),
             server: ready(1), fate: .reset),
        Step(why: "client left, pinned, no reset query", letGo: .clientLeft(sent: 1, halfSent: false, keepsSession: true, pinned: true),
             server: ready(1, reset: false), fate: .close),
        // A client that vanished with work outstanding.
        Step(why: "client left before the answer", letGo: .clientLeft(sent: 2, halfSent: false, keepsSession: false, pinned: false),
             server: ready(1), fate: .cancelThenClose),
        Step(why: "client left mid-transaction", letGo: .clientLeft(sent: 1, halfSent: false, keepsSession: false, pinned: false),
             server: ready(1, status: .inTransaction), fate: .cancelThenClose),
        Step(why: "client left in a failed transaction", letGo: .clientLeft(sent: 1, halfSent: false, keepsSession: true, pinned: false),
             server: ready(1, status: .failedTransaction), fate: .cancelThenClose),
        Step(why: "client left with Parse/Bind unsynced", letGo: .clientLeft(sent: 1, halfSent: true, keepsSession: false, pinned: false),
             server: ready(1), fate: .cancelThenClose),
        Step(why: "client left with a failure held for a retry", letGo: .clientLeft(sent: 1, halfSent: false, keepsSession: false, pinned: false),
             server: ready(0, quiet: false), fate: .cancelThenClose),
        Step(why: "client left while the server had closed", letGo: .clientLeft(sent: 1, halfSent: false, keepsSession: false, pinned: false),
             server: ready(1, open: false), fate: .close),
        Step(why: "client left mid-query while the server had closed", letGo: .clientLeft(sent: 2, halfSent: false, keepsSession: false, pinned: false),
             server: ready(1, open: false), fate: .cancelThenClose),
        Step(why: "client left, RECONNECT asked", letGo: .clientLeft(sent: 1, halfSent: false, keepsSession: true, pinned: false),
             server: ready(1, closeRequested: true), fate: .close),
        // pgswift's own use of the server.
        Step(why: "server_check_query failed", letGo: .internalFailed, server: ready(), fate: .close),
        Step(why: "reset query succeeded", letGo: .resetFinished(failed: false), server: ready(), fate: .reuse),
        Step(why: "reset query failed", letGo: .resetFinished(failed: true), server: ready(), fate: .close),
        Step(why: "reset query left a transaction open", letGo: .resetFinished(failed: false), server: ready(status: .inTransaction), fate: .close),
        Step(why: "RECONNECT during the reset", letGo: .resetFinished(failed: false), server: ready(closeRequested: true), fate: .close),
    ]

    @Test(arguments: steps)
    func fate(_ step: Step) {
        #expect(ServerReturn.decide(step.letGo, step.server) == step.fate)
    }
}
