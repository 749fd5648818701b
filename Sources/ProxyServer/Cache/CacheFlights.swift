// Misses on their way to a server, shared by the loops: a client that sends the same request meanwhile waits for
// that answer instead of sending it again.
import NIOConcurrencyHelpers
import ResultCache

final class CacheFlights: Sendable {
    /// A waiting client, and the token of its wait (a wait since cancelled or timed out is not resumed).
    struct Follower: @unchecked Sendable {
        let client: ClientConnection
        let token: UInt32
    }

    private let flights = NIOLockedValueBox<[CacheKey: [Follower]]>([:])

    /// True when this client leads (no identical miss is in flight); else it was added as a follower.
    func lead(_ key: CacheKey, or follower: Follower) -> Bool {
        flights.withLockedValue { all in
            if all[key] != nil {
                all[key]?.append(follower)
                return false
            }
            all[key] = []
            return true
        }
    }

    /// The leader's miss is over: who waited for it.
    func land(_ key: CacheKey) -> [Follower] {
        flights.withLockedValue { $0.removeValue(forKey: key) ?? [] }
    }
}
