// Identifies a pool: one per (database name as clients ask for it, user name).

struct PoolKey: Hashable, Sendable, CustomStringConvertible {
    var database: String
    var user: String

    var description: String { "\(database)/\(user)" }
}
