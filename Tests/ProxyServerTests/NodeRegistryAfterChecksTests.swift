// NodeRegistry.afterChecks: a wait that ends only when every host named has ended a check started after it.
import Routing
import Synchronization
import Testing
@testable import ProxyServer

@Suite("NodeRegistry afterChecks")
struct NodeRegistryAfterChecksTests {
    static let db1 = ServerAddress(host: "db1.test", port: 5433), db2 = ServerAddress(host: "db2.test", port: 5433)
    static let unknown = ServerAddress(host: "db3.test", port: 5433)
    static let policy = HealthPolicy(failuresToDown: 3, successesToUp: 2)
    static let period = 10.0

    final class Fired: Sendable {
        private let count = Mutex(0)
        func go() { count.withLock { $0 += 1 } }
        var times: Int { count.withLock { $0 } }
    }

    static func check(_ nodes: NodeRegistry, _ address: ServerAddress, _ role: NodeRole = .primary, now: Double) -> Bool {
        guard nodes.beginCheck(address, policy: policy, period: period, now: now) else { return false }
        nodes.checkEnded(address, .success(NodeObservation(role: role, lsn: 0x100, timeline: 1)), now: now)
        return true
    }

    /// Both hosts checked once, at time 0.
    static func checked() -> NodeRegistry {
        let nodes = NodeRegistry()
        #expect(check(nodes, db1, now: 0))
        #expect(check(nodes, db2, .replica, now: 0))
        return nodes
    }

    @Test func firesOnceBothHostsEndedANewCheck() {
        let nodes = Self.checked()
        let fired = Fired()
        nodes.afterChecks(of: [Self.db1, Self.db2]) { fired.go() }
        #expect(fired.times == 0)
        // The wait has the next round start them at once, whatever health_check_period says.
        #expect(Self.check(nodes, Self.db1, now: 1))
        #expect(fired.times == 0)
        #expect(Self.check(nodes, Self.db2, .primary, now: 1))
        #expect(fired.times == 1)
        // Once only.
        nodes.checkSoon(Self.db1)
        #expect(Self.check(nodes, Self.db1, now: 2))
        #expect(fired.times == 1)
    }

    @Test func aFailedCheckCountsAsEnded() {
        struct Unreachable: Error {}
        let nodes = Self.checked()
        let fired = Fired()
        nodes.afterChecks(of: [Self.db1]) { fired.go() }
        #expect(nodes.beginCheck(Self.db1, policy: Self.policy, period: Self.period, now: 1))
        nodes.checkEnded(Self.db1, .failure(Unreachable()), now: 1)
        #expect(fired.times == 1)
    }

    @Test func aCheckRunningWhenTheWaitBeganDoesNotCount() {
        let nodes = Self.checked()
        let fired = Fired()
        #expect(nodes.beginCheck(Self.db1, policy: Self.policy, period: 0, now: 1))
        nodes.afterChecks(of: [Self.db1]) { fired.go() }
        // It may have read the host before the demotion the wait is for.
        nodes.checkEnded(Self.db1, .success(NodeObservation(role: .primary, lsn: 0x100, timeline: 1)), now: 2)
        #expect(fired.times == 0)
        #expect(Self.check(nodes, Self.db1, .replica, now: 2))
        #expect(fired.times == 1)
    }

    @Test func theRunningChecksReadingKeepsItsStartTime() {
        // Routing bounds what the primary's reading covers by when its check started (NodeRoutes.primaryBound).
        let nodes = Self.checked()
        #expect(nodes.beginCheck(Self.db1, policy: Self.policy, period: 0, now: 5))
        nodes.afterChecks(of: [Self.db1]) {}
        nodes.checkEnded(Self.db1, .success(NodeObservation(role: .primary, lsn: 0x200, timeline: 1)), now: 6)
        #expect(nodes.snapshot[Self.db1]?.observationStarted == 5)
    }

    @Test func aHostWithoutARecordIsNotWaitedFor() {
        let nodes = Self.checked()
        let fired = Fired()
        nodes.afterChecks(of: [Self.db1, Self.unknown]) { fired.go() }
        #expect(fired.times == 0)
        #expect(Self.check(nodes, Self.db1, now: 1))
        #expect(fired.times == 1)
    }

    @Test func withNoHostKnownItFiresAtOnce() {
        let fired = Fired()
        NodeRegistry().afterChecks(of: [Self.db1, Self.db2]) { fired.go() }
        #expect(fired.times == 1)
        let nodes = Self.checked()
        nodes.afterChecks(of: [Self.unknown]) { fired.go() }
        #expect(fired.times == 2)
        nodes.afterChecks(of: []) { fired.go() }
        #expect(fired.times == 3)
    }

    @Test func waitsEndEachOnItsOwnHosts() {
        let nodes = Self.checked()
        let first = Fired(), second = Fired()
        nodes.afterChecks(of: [Self.db1]) { first.go() }
        nodes.afterChecks(of: [Self.db1, Self.db2]) { second.go() }
        #expect(Self.check(nodes, Self.db1, now: 1))
        #expect(first.times == 1 && second.times == 0)
        #expect(Self.check(nodes, Self.db2, now: 1))
        #expect(first.times == 1 && second.times == 1)
    }

    @Test func aWaitMayStartAnotherFromItsOwnEnd() {
        // A rerouted client whose next unit is refused again waits anew from inside the first wait's end.
        let nodes = Self.checked()
        let fired = Fired()
        nodes.afterChecks(of: [Self.db1]) {
            fired.go()
            nodes.afterChecks(of: [Self.db1]) { fired.go() }
        }
        #expect(Self.check(nodes, Self.db1, now: 1))
        #expect(fired.times == 1)
        #expect(Self.check(nodes, Self.db1, now: 2))
        #expect(fired.times == 2)
    }
}
