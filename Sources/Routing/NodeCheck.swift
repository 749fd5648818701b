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
    /// The timeline a primary writes, or a replica receives (nil while its WAL receiver is not streaming).
    public var timeline: UInt32?

    public init(role: NodeRole, lsn: UInt64, replayDelay: Double = 0, timeline: UInt32? = nil) {
        self.role = role
        self.lsn = lsn
        self.replayDelay = replayDelay
        self.timeline = timeline
    }
}

public enum NodeCheck {
    /// One statement, one row: in recovery, the position (a primary's insert position: at or past the end of every
    /// commit it acknowledged, even with synchronous_commit off), the delay, the timeline (a primary's from the name of the
    /// WAL file it writes, which pg_walfile_name gives only outside recovery; a replica's from its WAL receiver, or,
    /// when it streams from nobody (its primary gone), from its last restartpoint: a replica left behind on an old
    /// timeline by a failover must show it). Functions and pg_stat_wal_receiver only, and pg_control_checkpoint only
    /// where the role may run it, so any role that may log in can run the check.
    public static let sql = """
        SELECT pg_is_in_recovery(), \
        CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END, \
        CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END, \
        CASE WHEN pg_is_in_recovery() THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), \
        CASE WHEN has_function_privilege('pg_control_checkpoint()', 'EXECUTE') \
        THEN (SELECT timeline_id FROM pg_control_checkpoint()) END) \
        ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END
        """

    /// The answer's four text columns, or nil when they are not what the query returns.
    public static func observation(_ columns: [String?]) -> NodeObservation? {
        guard columns.count == 4, let recovery = columns[0], let lsnText = columns[1], let lsn = parseLSN(lsnText) else { return nil }
        let role: NodeRole
        switch recovery {
        case "t": role = .replica
        case "f": role = .primary
        default: return nil
        }
        return NodeObservation(role: role, lsn: lsn, replayDelay: columns[2].flatMap(Double.init) ?? 0, timeline: columns[3].flatMap { UInt32($0) })
    }

    /// The position replicas' lag is measured against: the current primary's, which is the one on the newest
    /// timeline among those not fenced (an old primary back after a failover is not it). nil when none is known.
    public static func primaryPosition(_ observations: [NodeObservation?], closed: [Bool]) -> UInt64? {
        var best: NodeObservation?
        for (i, o) in observations.enumerated() {
            guard let o, o.role == .primary, !(i < closed.count && closed[i]) else { continue }
            if best == nil || (o.timeline ?? 0) > (best?.timeline ?? 0) { best = o }
        }
        return best?.lsn
    }

    /// PostgreSQL's text form of a WAL position, "16/B374D848": the high and low 32 bits in hex.
    public static func parseLSN(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let hi = UInt32(parts[0], radix: 16), let lo = UInt32(parts[1], radix: 16) else { return nil }
        return UInt64(hi) << 32 | UInt64(lo)
    }

    /// A WAL position as PostgreSQL writes it (what parseLSN reads).
    public static func lsnText(_ lsn: UInt64) -> String {
        String(lsn >> 32, radix: 16, uppercase: true) + "/" + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    /// How many bytes `replica` is behind `primary`'s position (0 when ahead: the primary was read first).
    public static func lagBytes(primary: UInt64, replica: UInt64) -> UInt64 {
        primary > replica ? primary - replica : 0
    }
}

/// Which nodes of one entry read as stale after a failover: on an older timeline than the newest any node is on (an
/// old primary that came back, replicas still following it), in a reading taken after that newest timeline was first
/// seen (an older reading says nothing of now). A node whose timeline is unknown is left alone.
public enum Fencing {
    /// `readings`: each node's timeline and when it was read (nil: unknown); `newestSince`: when the newest timeline
    /// among them was first seen.
    public static func stale(_ readings: [(timeline: UInt32, at: Double)?], newestSince: Double) -> Set<Int> {
        guard let newest = readings.compactMap({ $0?.timeline }).max() else { return [] }
        return Set(readings.indices.filter { i in
            guard let r = readings[i] else { return false }
            return r.at > newestSince && r.timeline < newest
        })
    }
}
