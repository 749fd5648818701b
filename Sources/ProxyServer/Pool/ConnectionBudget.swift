// Counts open server connections per database and per user, for max_db_connections and max_user_connections.
import NIOConcurrencyHelpers

final class ConnectionBudget: Sendable {
    private struct Counts: Sendable {
        var byDatabase: [String: Int] = [:]
        var byUser: [String: Int] = [:]
    }

    private let counts = NIOLockedValueBox(Counts())

    /// Takes one slot unless either limit (0 = none) is reached.
    func acquire(database: String, user: String, maxDatabase: Int, maxUser: Int) -> Bool {
        counts.withLockedValue { c in
            let d = c.byDatabase[database, default: 0]
            let u = c.byUser[user, default: 0]
            if maxDatabase > 0 && d >= maxDatabase { return false }
            if maxUser > 0 && u >= maxUser { return false }
            c.byDatabase[database] = d + 1
            c.byUser[user] = u + 1
            return true
        }
    }

    func release(database: String, user: String) {
        counts.withLockedValue { c in
            c.byDatabase[database, default: 1] -= 1
            c.byUser[user, default: 1] -= 1
        }
    }

    func open(database: String) -> Int { counts.withLockedValue { $0.byDatabase[database, default: 0] } }
    func open(user: String) -> Int { counts.withLockedValue { $0.byUser[user, default: 0] } }
    /// Every user's count at once (SHOW USERS), under one lock.
    func openByUser() -> [String: Int] { counts.withLockedValue { $0.byUser } }
}
