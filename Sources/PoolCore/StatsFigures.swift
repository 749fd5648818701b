// PgBouncer's traffic figures (SHOW STATS and friends): totals since start, averages over one stats_period, and the
// columns each SHOW lays them out in.

/// Times in microseconds; per pool on one event loop, or summed per database.
public struct StatsTotals: Sendable, Equatable {
    public var serverAssignments = 0
    public var xacts = 0
    public var queries = 0
    public var received = 0
    public var sent = 0
    public var xactTime = 0
    public var queryTime = 0
    public var waitTime = 0
    public var clientParses = 0
    public var serverParses = 0
    public var binds = 0
    /// Clients that completed a login (the admin console's included, as PgBouncer counts them).
    public var clientLogins = 0

    public init() {}

    /// In PgBouncer 1.25's column order.
    public static let fields: [any WritableKeyPath<StatsTotals, Int> & Sendable] = [
        \.serverAssignments, \.xacts, \.queries, \.received, \.sent, \.xactTime, \.queryTime, \.waitTime,
        \.clientParses, \.serverParses, \.binds, \.clientLogins,
    ]

    public var figures: [Int] { Self.fields.map { self[keyPath: $0] } }

    public static func + (a: StatsTotals, b: StatsTotals) -> StatsTotals {
        var s = a
        for f in fields { s[keyPath: f] += b[keyPath: f] }
        return s
    }

    public static func - (a: StatsTotals, b: StatsTotals) -> StatsTotals {
        var s = a
        for f in fields { s[keyPath: f] -= b[keyPath: f] }
        return s
    }
}

/// PgBouncer's averages over the last stats_period: rates per second, times per transaction, query or assignment.
public struct StatsAverages: Sendable, Equatable {
    public var serverAssignments = 0.0
    public var xacts = 0.0
    public var queries = 0.0
    public var received = 0.0
    public var sent = 0.0
    public var xactTime = 0.0
    public var queryTime = 0.0
    public var waitTime = 0.0
    public var clientParses = 0.0
    public var serverParses = 0.0
    public var binds = 0.0
    public var clientLogins = 0.0

    public init() {}

    public init(delta d: StatsTotals, seconds: Double) {
        guard seconds > 0 else { return }
        serverAssignments = Double(d.serverAssignments) / seconds
        xacts = Double(d.xacts) / seconds
        queries = Double(d.queries) / seconds
        received = Double(d.received) / seconds
        sent = Double(d.sent) / seconds
        xactTime = d.xacts > 0 ? Double(d.xactTime) / Double(d.xacts) : 0
        queryTime = d.queries > 0 ? Double(d.queryTime) / Double(d.queries) : 0
        waitTime = d.serverAssignments > 0 ? Double(d.waitTime) / Double(d.serverAssignments) : 0
        clientParses = Double(d.clientParses) / seconds
        serverParses = Double(d.serverParses) / seconds
        binds = Double(d.binds) / seconds
        clientLogins = Double(d.clientLogins) / seconds
    }

    /// In the order of `StatsTotals.fields`, rounded as PgBouncer shows them.
    public var figures: [Int] {
        [serverAssignments, xacts, queries, received, sent, xactTime, queryTime, waitTime, clientParses, serverParses,
         binds, clientLogins].map { Int($0.rounded()) }
    }
}

/// Column names, in PgBouncer 1.25's order; each list matches `figures`.
public enum StatsColumns {
    /// SHOW STATS: total_*, then avg_*.
    public static let statsTotals = ["total_server_assignment_count", "total_xact_count", "total_query_count", "total_received",
                                     "total_sent", "total_xact_time", "total_query_time", "total_wait_time",
                                     "total_client_parse_count", "total_server_parse_count", "total_bind_count",
                                     "total_client_login_count"]
    public static let statsAverages = ["avg_server_assignment_count", "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent",
                                       "avg_xact_time", "avg_query_time", "avg_wait_time", "avg_client_parse_count",
                                       "avg_server_parse_count", "avg_bind_count", "avg_client_login_count"]
    /// SHOW STATS_TOTALS, without prefixes.
    public static let totalsOnly = ["server_assignment_count", "xact_count", "query_count", "bytes_received", "bytes_sent",
                                    "xact_time", "query_time", "wait_time", "client_parse_count", "server_parse_count",
                                    "bind_count", "client_login_count"]
    /// SHOW STATS_AVERAGES: PgBouncer keeps an avg_ prefix on the prepared-statement figures only.
    public static let averagesOnly = ["server_assignment_count", "xact_count", "query_count", "bytes_received", "bytes_sent",
                                      "xact_time", "query_time", "wait_time", "avg_client_parse_count",
                                      "avg_server_parse_count", "avg_bind_count", "client_login_count"]
    /// SHOW TOTALS rows, after total_ or avg_.
    public static let totalsRows = ["server_assignment_count", "xact_count", "query_count", "client_bytes", "server_bytes",
                                    "xact_time", "query_time", "wait_time", "ps_client_parse_count", "ps_server_parse_count",
                                    "ps_bind_count", "client_login_count"]
}
