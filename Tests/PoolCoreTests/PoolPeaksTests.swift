// PoolPeaks: the high-water marks the tuning advice reads, over the current and the previous stats period.
import PoolCore
import Testing

@Suite struct PoolPeaksTests {
    @Test func peaksSurviveOneRollAndNotTwo() {
        var p = PoolPeaks()
        p.note(active: 3, waiting: 0)
        p.note(active: 7, waiting: 2)
        p.note(active: 1, waiting: 0)
        #expect(p.recentActive == 7 && p.recentWaiting == 2)
        p.roll(active: 1, waiting: 0)
        #expect(p.active == 1 && p.previousActive == 7 && p.recentActive == 7 && p.recentWaiting == 2)
        p.note(active: 4, waiting: 0)
        p.roll(active: 0, waiting: 0)
        #expect(p.recentActive == 4 && p.recentWaiting == 0)
        p.roll(active: 0, waiting: 0)
        #expect(p.recentActive == 0)
    }
}
