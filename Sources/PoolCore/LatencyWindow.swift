// Query latencies over a sliding window, as HDR histograms: recorded per event loop, merged when someone asks.
import Histogram

/// A window of `slots` histograms, each covering `slotSeconds`; recording goes to the newest, and a slot that has
/// fallen out of the window is emptied before reuse. Values are microseconds, up to a minute (longer is clamped).
public struct LatencyWindow: Sendable {
    public let slotSeconds: Double
    private var slots: [Histogram<UInt32>?]
    /// The start of each slot's interval (seconds on the caller's clock).
    private var starts: [Double]
    private var current = 0

    public static let highest: UInt64 = 60_000_000

    public init(slots: Int = 4, slotSeconds: Double = 15) {
        precondition(slots > 0 && slotSeconds > 0)
        self.slotSeconds = slotSeconds
        self.slots = Array(repeating: nil, count: slots)
        self.starts = Array(repeating: -Double.infinity, count: slots)
    }

    public var windowSeconds: Double { slotSeconds * Double(slots.count) }

    public mutating func record(microseconds: UInt64, now: Double) {
        if now >= starts[current] + slotSeconds {
            current = (current + 1) % slots.count
            // Aligned to the slot length, so every loop's slots cover the same intervals and merge cleanly.
            starts[current] = (now / slotSeconds).rounded(.down) * slotSeconds
            slots[current]?.reset()
        }
        if slots[current] == nil {
            // Two significant digits: percentiles within 1%, for a few kilobytes per slot; allocated on first use.
            slots[current] = Histogram<UInt32>(lowestDiscernibleValue: 1, highestTrackableValue: Self.highest, numberOfSignificantValueDigits: .two)
        }
        _ = slots[current]!.record(max(1, min(microseconds, Self.highest)))
    }

    /// Everything recorded within the window ending at `now`, merged into `into`.
    public func merge(into total: inout Histogram<UInt32>, now: Double) {
        for (i, slot) in slots.enumerated() {
            guard let slot, starts[i] > now - windowSeconds else { continue }
            total.add(slot)
        }
    }

    public static func emptyHistogram() -> Histogram<UInt32> {
        Histogram<UInt32>(lowestDiscernibleValue: 1, highestTrackableValue: highest, numberOfSignificantValueDigits: .two)
    }
}
