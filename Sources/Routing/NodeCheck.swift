// The health check's question to a node and how its one-row answer is read: the node's role, its WAL position, and
// for a replica how far it is behind.

/// What one check found.
public struct NodeObservation: Sendable, Equatable {
    public var role: NodeRole
    /// A primary's current WAL position, a replica's replayed one.
    public var lsn: UInt64
    /// A replica's replay delay: 0 when it has replayed all it received (an idle primary makes no lag), else the
    /// age of the last transaction it replayed.
    public var replayDelay: Double

    public init(role: NodeRole, lsn: UInt64, replayDelay: Double = 0) {
        self.role = role
        self.lsn = lsn
        self.replayDelay = replayDelay
    }
}

public enum NodeCheck {
    /// One statement, one row: in recovery, the position, the delay. Functions only (no table), so any role that
    /// may log in can run it.
    public static let sql = """
        SELECT pg_is_in_recovery(), \
        CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, \
        CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END
        """

    /// The answer's three text columns, or nil when they are not what the query returns.
    public static func observation(_ columns: [String?]) -> NodeObservation? {
        guard columns.count == 3, let recovery = columns[0], let lsnText = columns[1], let lsn = parseLSN(lsnText) else { return nil }
        let role: NodeRole
        switch recovery {
        case "t": role = .replica
        case "f": role = .primary
        default: return nil
        }
        return NodeObservation(role: role, lsn: lsn, replayDelay: columns[2].flatMap(Double.init) ?? 0)
    }

    /// PostgreSQL's text form of a WAL position, "16/B374D848": the high and low 32 bits in hex.
    public static func parseLSN(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let hi = UInt32(parts[0], radix: 16), let lo = UInt32(parts[1], radix: 16) else { return nil }
        return UInt64(hi) << 32 | UInt64(lo)
    }

    /// How many bytes `replica` is behind `primary`'s position (0 when ahead: the primary was read first).
    public static func lagBytes(primary: UInt64, replica: UInt64) -> UInt64 {
        primary > replica ? primary - replica : 0
    }
}
