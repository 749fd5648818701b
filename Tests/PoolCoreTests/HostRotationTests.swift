// HostRotation as steps: the order in which one new connection tries a database's hosts.
import PoolCore
import Testing

@Suite("Host rotation")
struct HostRotationTests {
    @Test func oneHostIsAlwaysTried() {
        var r = HostRotation(weights: [1], roundRobin: true, downFor: 15)
        r.failed(0, now: 0)
        #expect(r.order(now: 1) == [0])
    }

    @Test func roundRobinStartsEachConnectionAtTheNextHostAndTriesTheRestAfter() {
        var r = HostRotation(weights: [1, 1, 1], roundRobin: true, downFor: 15)
        #expect(r.order(now: 0) == [0, 1, 2])
        #expect(r.order(now: 0) == [1, 2, 0])
        #expect(r.order(now: 0) == [2, 0, 1])
        #expect(r.order(now: 0) == [0, 1, 2])
    }

    @Test func weightsSetHowOftenAHostComesFirst() {
        var r = HostRotation(weights: [3, 1], roundRobin: true, downFor: 15)
        let firsts = (0..<8).map { _ in r.order(now: 0)[0] }
        #expect(firsts == [0, 0, 1, 0, 0, 0, 1, 0])
    }

    @Test func aHostThatRefusedGoesLastUntilItsTimeIsUp() {
        var r = HostRotation(weights: [1, 1, 1], roundRobin: true, downFor: 15)
        r.failed(0, now: 10)
        // Its turn passes to the next host.
        #expect(r.order(now: 11) == [1, 2, 0])
        #expect(r.order(now: 12) == [1, 2, 0])
        #expect(r.order(now: 13) == [2, 1, 0])
        #expect(r.isDown(0, now: 24.9) && !r.isDown(0, now: 25))
        // Back in the rotation once the time is up, or at once when a connection to it worked.
        r.failed(1, now: 30)
        r.connected(1)
        #expect(!r.isDown(1, now: 31))
    }

    @Test func withoutRoundRobinTheHostThatWorkedIsKeptUntilItFails() {
        var r = HostRotation(weights: [1, 1, 1], roundRobin: false, downFor: 15)
        #expect(r.order(now: 0) == [0, 1, 2])
        #expect(r.order(now: 0) == [0, 1, 2])
        r.failed(0, now: 1)
        r.connected(1)
        #expect(r.order(now: 2) == [1, 2, 0])
        #expect(r.order(now: 100) == [1, 2, 0])
    }

    @Test func everyHostDownStillTriesThemAll() {
        var r = HostRotation(weights: [1, 1], roundRobin: true, downFor: 15)
        r.failed(0, now: 0)
        r.failed(1, now: 0)
        #expect(Set(r.order(now: 1)) == [0, 1])
    }

    @Test func aHostOfWeightZeroIsOnlyAFallback() {
        var r = HostRotation(weights: [0, 1], roundRobin: true, downFor: 15)
        for _ in 0..<4 { #expect(r.order(now: 0) == [1, 0]) }
    }
}
