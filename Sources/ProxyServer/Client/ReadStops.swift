// The reasons a client's socket is not being read, so that lifting one never undoes another.
import SessionCore

struct ReadStops: OptionSet, Sendable {
    let rawValue: UInt8

    /// Bytes held while the client has no server (or, for the console, commands not yet run) passed the limit.
    static let held = ReadStops(rawValue: 1 << 0)
    /// Frames held behind a Bind that waits for its statement's description passed the limit.
    static let gate = ReadStops(rawValue: 1 << 1)
    /// The linked server's socket takes no more for now.
    static let serverFull = ReadStops(rawValue: 1 << 2)

    init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    init(_ reason: ReadStop) {
        switch reason {
        case .held: self = .held
        case .gate: self = .gate
        }
    }
}
