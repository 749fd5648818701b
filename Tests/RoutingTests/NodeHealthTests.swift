// NodeHealth as step tables: checks mark a node down and up, connect failures and error rates open its circuit, an
// open circuit refuses work until its time is up, then lets one probe through whose outcome closes or reopens it.
import Routing
import Testing

@Suite("Node health and circuit")
struct NodeHealthTests {
    enum Event: Sendable {
        case checkPassed(NodeRole)
        case checkFailed
        case connected
        case connectFailed
        case request(failed: Bool)
        case ask(Admission)
        case abandon
    }

    struct Step: Sendable {
        var at: Double
        var event: Event
        var up: Bool
        var circuit: CircuitState
    }

    static let policy = HealthPolicy(failuresToDown: 3, successesToUp: 2, connectFailuresToOpen: 3, errorRateToOpen: 0.5,
                                     errorWindow: 10, minimumRequests: 4, firstOpen: 1, longestOpen: 4)

    static func run(_ steps: [Step], sourceLocation: SourceLocation = #_sourceLocation) {
        var n = NodeHealth(policy: policy)
        for (k, s) in steps.enumerated() {
            switch s.event {
            case .checkPassed(let role): n.checkPassed(role: role, now: s.at)
            case .checkFailed: n.checkFailed(now: s.at)
            case .connected: n.connected(now: s.at)
            case .connectFailed: n.connectFailed(now: s.at)
            case .request(let failed): n.requestEnded(failed: failed, now: s.at)
            case .ask(let want): #expect(n.admission(now: s.at) == want, "step \(k)", sourceLocation: sourceLocation)
            case .abandon: n.probeAbandoned()
            }
            #expect(n.isUp == s.up, "step \(k): up", sourceLocation: sourceLocation)
            #expect(n.circuit == s.circuit, "step \(k): circuit", sourceLocation: sourceLocation)
        }
    }

    @Test func aNodeNobodyCheckedYetTakesWork() {
        Self.run([Step(at: 0, event: .ask(.admit), up: true, circuit: .closed)])
    }

    @Test func checksMarkTheNodeDownAfterFailuresInARowAndUpAfterSuccesses() {
        Self.run([
            Step(at: 0, event: .checkPassed(.primary), up: true, circuit: .closed),
            Step(at: 1, event: .checkFailed, up: true, circuit: .closed),
            Step(at: 2, event: .checkFailed, up: true, circuit: .closed),
            // A pass in between starts the count again.
            Step(at: 3, event: .checkPassed(.primary), up: true, circuit: .closed),
            Step(at: 4, event: .checkFailed, up: true, circuit: .closed),
            Step(at: 5, event: .checkFailed, up: true, circuit: .closed),
            Step(at: 6, event: .checkFailed, up: false, circuit: .closed),
            Step(at: 6.5, event: .ask(.refuse(.down)), up: false, circuit: .closed),
            Step(at: 7, event: .checkPassed(.replica), up: false, circuit: .closed),
            Step(at: 8, event: .checkPassed(.replica), up: true, circuit: .closed),
            Step(at: 8.5, event: .ask(.admit), up: true, circuit: .closed),
        ])
    }

    @Test func connectFailuresInARowOpenTheCircuitWhichRefusesAtOnce() {
        Self.run([
            Step(at: 0, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0.1, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0.2, event: .connected, up: true, circuit: .closed),
            Step(at: 0.3, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0.4, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0.5, event: .connectFailed, up: true, circuit: .open(until: 1.5)),
            Step(at: 1.0, event: .ask(.refuse(.circuitOpen(until: 1.5))), up: true, circuit: .open(until: 1.5)),
        ])
    }

    @Test func aHalfOpenCircuitLetsOneProbeThroughAndItsFailureDoublesTheOpenTime() {
        Self.run([
            Step(at: 0, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0, event: .connectFailed, up: true, circuit: .open(until: 1)),
            Step(at: 1, event: .ask(.probe), up: true, circuit: .halfOpen(probing: true)),
            Step(at: 1.1, event: .ask(.refuse(.probing)), up: true, circuit: .halfOpen(probing: true)),
            Step(at: 1.2, event: .connectFailed, up: true, circuit: .open(until: 3.2)),
            Step(at: 3.2, event: .ask(.probe), up: true, circuit: .halfOpen(probing: true)),
            Step(at: 3.3, event: .connectFailed, up: true, circuit: .open(until: 7.3)),
            // Capped at longestOpen (4 s).
            Step(at: 7.3, event: .ask(.probe), up: true, circuit: .halfOpen(probing: true)),
            Step(at: 7.4, event: .connectFailed, up: true, circuit: .open(until: 11.4)),
            Step(at: 11.4, event: .ask(.probe), up: true, circuit: .halfOpen(probing: true)),
            // The probe worked: closed, and the next opening is short again.
            Step(at: 11.5, event: .connected, up: true, circuit: .closed),
            Step(at: 12, event: .ask(.admit), up: true, circuit: .closed),
            Step(at: 12, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 12, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 12, event: .connectFailed, up: true, circuit: .open(until: 13)),
        ])
    }

    @Test func aHealthCheckIsAProbeToo() {
        Self.run([
            Step(at: 0, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0, event: .connectFailed, up: true, circuit: .open(until: 1)),
            // While open, a passing check does not cut the open time short.
            Step(at: 0.5, event: .checkPassed(.primary), up: true, circuit: .open(until: 1)),
            Step(at: 1, event: .ask(.probe), up: true, circuit: .halfOpen(probing: true)),
            Step(at: 1.5, event: .checkPassed(.primary), up: true, circuit: .closed),
        ])
    }

    @Test func anAbandonedProbeLetsAnotherGo() {
        Self.run([
            Step(at: 0, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0, event: .connectFailed, up: true, circuit: .closed),
            Step(at: 0, event: .connectFailed, up: true, circuit: .open(until: 1)),
            Step(at: 1, event: .ask(.probe), up: true, circuit: .halfOpen(probing: true)),
            Step(at: 1.1, event: .abandon, up: true, circuit: .halfOpen(probing: false)),
            Step(at: 1.2, event: .ask(.probe), up: true, circuit: .halfOpen(probing: true)),
        ])
    }

    @Test func anErrorRateOverTheWindowOpensTheCircuitOnceThereAreEnoughRequests() {
        Self.run([
            Step(at: 0, event: .request(failed: true), up: true, circuit: .closed),
            Step(at: 0.1, event: .request(failed: true), up: true, circuit: .closed),
            // Two failures of two requests: under minimumRequests (4), nothing yet.
            Step(at: 0.2, event: .request(failed: false), up: true, circuit: .closed),
            Step(at: 0.3, event: .request(failed: true), up: true, circuit: .open(until: 1.3)),
        ])
    }

    @Test func failuresOlderThanTheWindowNoLongerCount() {
        Self.run([
            Step(at: 0, event: .request(failed: true), up: true, circuit: .closed),
            Step(at: 0, event: .request(failed: true), up: true, circuit: .closed),
            Step(at: 0, event: .request(failed: true), up: true, circuit: .closed),
            // Ten seconds on, those three are out of the window: one failure of two requests is not enough.
            Step(at: 10, event: .request(failed: false), up: true, circuit: .closed),
            Step(at: 10.5, event: .request(failed: true), up: true, circuit: .closed),
            Step(at: 10.6, event: .request(failed: false), up: true, circuit: .closed),
            Step(at: 10.7, event: .request(failed: false), up: true, circuit: .closed),
        ])
    }

    @Test func theRoleIsWhatTheLastPassingCheckSaid() {
        var n = NodeHealth(policy: Self.policy)
        #expect(n.role == .unknown)
        n.checkPassed(role: .replica, now: 0)
        #expect(n.role == .replica)
        n.checkPassed(role: .primary, now: 1)
        #expect(n.role == .primary)
        n.checkFailed(now: 2)
        #expect(n.role == .primary)
    }
}

@Suite("Node circuit without admission calls")
struct NodeCircuitTimeTests {
    @Test func anOpenCircuitWhoseTimeIsUpIsClosedOrReopenedByTheNextOutcome() {
        var n = NodeHealth(policy: NodeHealthTests.policy)
        for _ in 0..<3 { n.connectFailed(now: 0) }
        #expect(n.circuit == .open(until: 1))
        #expect(n.circuit(at: 0.5) == .open(until: 1) && n.circuit(at: 1) == .halfOpen(probing: false))
        // Nobody asked for admission: the next failure after the open time still reopens it, for twice as long.
        n.connectFailed(now: 2)
        #expect(n.circuit == .open(until: 4))
        n.connected(now: 4.5)
        #expect(n.circuit == .closed)
        for _ in 0..<3 { n.connectFailed(now: 5) }
        n.checkPassed(role: .replica, now: 6.5)
        #expect(n.circuit == .closed)
    }
}
