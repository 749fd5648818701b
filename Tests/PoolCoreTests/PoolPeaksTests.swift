// PoolPeaks, and the pool machine noting them: the high-water marks the tuning advice reads.
import Testing

@testable import PoolCore

@Suite struct PoolPeaksTests {
    @Test func peaksSurviveOneRollAndNotTwo() {
        var p = PoolPeaks()
        p.note(active: 3, waiting: 0, full: false)
        p.note(active: 7, waiting: 2, full: true)
        p.note(active: 1, waiting: 0, full: false)
        p.noteWaitTimeout()
        #expect(p.recentActive == 7 && p.recentWaiting == 2 && p.recentWaitTimeouts == 1)
        p.roll(active: 1)
        #expect(p.active == 1 && p.previousActive == 7 && p.recentActive == 7 && p.recentWaiting == 2 && p.recentWaitTimeouts == 1)
        p.note(active: 4, waiting: 0, full: false)
        p.roll(active: 0)
        #expect(p.recentActive == 4 && p.recentWaiting == 0 && p.recentWaitTimeouts == 0)
        p.roll(active: 0)
        #expect(p.recentActive == 0)
    }

    @Test func theMachineCountsQueuesOnlyAtAFullPool() {
        var pool = PoolStateMachine<String, String>(limits: PoolLimits(poolSize: 2, queryWaitTimeout: 1))
        // Warm-up: two clients wait for servers being opened; that says nothing about the pool's size.
        #expect(pool.lease("a", affinity: 0, now: 0) == [.connect(affinity: 0)])
        #expect(pool.lease("b", affinity: 0, now: 0) == [.connect(affinity: 0)])
        #expect(pool.peaks.recentWaiting == 0)
        _ = pool.connected("s1", affinity: 0, now: 0.1)
        _ = pool.connected("s2", affinity: 0, now: 0.1)
        #expect(pool.peaks.recentActive == 2 && pool.peaks.recentWaiting == 0)
        // Full: the next two queue for a release.
        #expect(pool.lease("c", affinity: 0, now: 0.2) == [])
        #expect(pool.lease("d", affinity: 0, now: 0.2) == [])
        #expect(pool.peaks.recentWaiting == 2)
        // One gives up at query_wait_timeout, the other gets a released server.
        _ = pool.release("s1", reusable: true, now: 0.5)
        #expect(pool.tick(now: 1.3) == [.fail("d", .queryWaitTimeout)])
        #expect(pool.peaks.recentWaitTimeouts == 1)
        // A new size: what was measured against the old one is forgotten.
        pool.limits = PoolLimits(poolSize: 4, queryWaitTimeout: 1)
        #expect(pool.peaks == PoolPeaks())
        pool.rollPeaks()
        #expect(pool.peaks.recentActive == 2 && pool.peaks.previousActive == 0)
    }
}
