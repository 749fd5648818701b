// auto_failover as tables: when a promotion is due, and which replica it promotes.
@testable import Routing
import Testing

@Suite("Automatic failover")
struct FailoverTests {
    typealias Host = Failover.Host

    @Test func theMostAdvancedReplicaOnTheNewestTimeline() {
        let hosts: [Host?] = [Host(role: .primary, up: false, lsn: 900), Host(role: .replica, lsn: 500, timeline: 1),
                              Host(role: .replica, lsn: 700, timeline: 1), Host(role: .replica, lsn: 100, timeline: 2)]
        #expect(Failover.candidate(hosts) == 3)
        #expect(Failover.candidate(Array(hosts.prefix(3))) == 2)
    }

    @Test func tiesGoToTheFirstListedAndDownOrClosedReplicasNeverPromote() {
        #expect(Failover.candidate([Host(role: .replica, lsn: 5), Host(role: .replica, lsn: 5)]) == 0)
        #expect(Failover.candidate([Host(role: .replica, up: false, lsn: 9), Host(role: .replica, closed: true, lsn: 9), Host(role: .replica, lsn: 1)]) == 2)
        #expect(Failover.candidate([nil, Host(role: .primary, up: false)]) == nil)
    }

    /// Two pgswift instances reading a replica that still replays at different moments could pick different
    /// candidates: nothing is promoted until every replica that could be has read the same position twice.
    @Test func aReplicaStillReplayingHoldsTheChoice() {
        let moving: [Host?] = [Host(role: .primary, up: false), Host(role: .replica, lsn: 500), Host(role: .replica, lsn: 400, settled: false)]
        #expect(Failover.settling(moving))
        // A replica that could not be promoted anyway does not hold it.
        #expect(!Failover.settling([Host(role: .replica, lsn: 500), Host(role: .replica, up: false, settled: false),
                                    Host(role: .replica, closed: true, settled: false), nil]))
        var watch = Failover.Watch()
        let lost = watch.due(hasPrimary: false, now: 0, timeout: 5)
        // Past the timeout, still replaying: not due, and no attempt counted...
        let replaying = watch.due(hasPrimary: false, ready: false, now: 6, timeout: 5)
        #expect(!lost && !replaying && watch.lastAttempt == nil)
        // ...so the first round that finds the positions settled promotes at once.
        let settled = watch.due(hasPrimary: false, ready: true, now: 7, timeout: 5)
        #expect(settled)
        // One that never settles (recovery_min_apply_delay) holds it one more timeout at most.
        var patient = Failover.Watch()
        let early = patient.due(hasPrimary: false, ready: false, now: 0, timeout: 5)
        let held = patient.due(hasPrimary: false, ready: false, now: 9.9, timeout: 5)
        let capped = patient.due(hasPrimary: false, ready: false, now: 10, timeout: 5)
        #expect(!early && !held && capped)
    }

    @Test func aFencedOrDownPrimaryIsNoPrimary() {
        #expect(Failover.hasPrimary([Host(role: .primary), Host(role: .replica)]))
        #expect(!Failover.hasPrimary([Host(role: .primary, up: false), Host(role: .replica)]))
        #expect(!Failover.hasPrimary([Host(role: .primary, closed: true), nil]))
    }

    struct Step: Sendable {
        var at: Double
        var hasPrimary: Bool
        var due: Bool
    }

    /// failover_timeout 10 s: due ten seconds after the primary was last seen, then not again for another ten; a
    /// primary seen again starts the count over.
    @Test func dueAfterTheTimeoutOnceThenAfterAnother() {
        var watch = Failover.Watch()
        let steps = [
            Step(at: 0, hasPrimary: true, due: false), Step(at: 1, hasPrimary: false, due: false), Step(at: 10.9, hasPrimary: false, due: false),
            Step(at: 11, hasPrimary: false, due: true), Step(at: 12, hasPrimary: false, due: false), Step(at: 20.9, hasPrimary: false, due: false),
            Step(at: 21, hasPrimary: false, due: true), Step(at: 22, hasPrimary: true, due: false), Step(at: 23, hasPrimary: false, due: false),
            Step(at: 33, hasPrimary: false, due: true),
        ]
        for step in steps {
            #expect(watch.due(hasPrimary: step.hasPrimary, now: step.at, timeout: 10) == step.due, "at \(step.at)")
        }
    }
}
