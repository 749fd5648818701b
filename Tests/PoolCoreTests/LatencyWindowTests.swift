// LatencyWindow: recording into the current slot, slots leaving the window, merging loops, clamping.
import Histogram
import PoolCore
import Testing

@Suite struct LatencyWindowTests {
    func merged(_ windows: [LatencyWindow], now: Double) -> Histogram<UInt32> {
        var h = LatencyWindow.emptyHistogram()
        for w in windows { w.merge(into: &h, now: now) }
        return h
    }

    @Test func percentilesOfWhatIsInTheWindow() {
        var w = LatencyWindow(slots: 4, slotSeconds: 10)
        for v in 1...100 { w.record(microseconds: UInt64(v * 1000), now: 5) }
        let h = merged([w], now: 6)
        #expect(h.totalCount == 100)
        let p50 = h.valueAtPercentile(50), p99 = h.valueAtPercentile(99)
        #expect(abs(Double(p50) - 50_000) / 50_000 < 0.02, "p50 \(p50)")
        #expect(abs(Double(p99) - 99_000) / 99_000 < 0.02, "p99 \(p99)")
    }

    @Test func oldSlotsLeaveTheWindow() {
        var w = LatencyWindow(slots: 3, slotSeconds: 10)
        w.record(microseconds: 100, now: 1)
        w.record(microseconds: 200, now: 12)
        w.record(microseconds: 300, now: 25)
        #expect(merged([w], now: 25).totalCount == 3)
        // At 35 the slot that began at 0 is older than the 30-second window.
        #expect(merged([w], now: 35).totalCount == 2)
        // Recording at 41 reuses (and empties) the oldest slot.
        w.record(microseconds: 400, now: 41)
        #expect(merged([w], now: 41).totalCount == 2)
        #expect(merged([w], now: 100).totalCount == 0)
    }

    @Test func loopsMergeAndValuesAreClamped() {
        var a = LatencyWindow(), b = LatencyWindow()
        a.record(microseconds: 0, now: 1)
        b.record(microseconds: 10_000_000_000, now: 2)
        let h = merged([a, b], now: 3)
        #expect(h.totalCount == 2)
        #expect(h.min >= 1 && h.max <= LatencyWindow.highest + LatencyWindow.highest / 50)
        #expect(merged([LatencyWindow()], now: 3).totalCount == 0)
    }
}
