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
