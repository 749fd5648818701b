// PoolPeaks: the high-water marks the tuning advice reads, over the current and the previous stats period.
import PoolCore
import Testing

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

    @Test func queuesWhileServersAreStillOpeningAreNotAFullPool() {
        var p = PoolPeaks()
        p.note(active: 2, waiting: 5, full: false)
        #expect(p.recentWaiting == 0 && p.recentActive == 2)
        p.note(active: 4, waiting: 3, full: true)
        #expect(p.recentWaiting == 3)
    }
}
