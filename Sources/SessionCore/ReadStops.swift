// The reasons a client's socket is not being read, so that lifting one never undoes another.

public struct ReadStops: OptionSet, Sendable {
    public let rawValue: UInt8

    /// Bytes held while the client has no server (or, for the console, commands not yet run) passed the limit.
    public static let held = ReadStops(rawValue: 1 << 0)
    /// Frames held behind a Bind that waits for its statement's description passed the limit.
    public static let gate = ReadStops(rawValue: 1 << 1)
    /// The linked server's socket takes no more for now.
    public static let serverFull = ReadStops(rawValue: 1 << 2)

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }
}
