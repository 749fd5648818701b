// PgBouncer's traffic figures (SHOW STATS and friends): one table says where each is kept, how its average is
// taken and what every SHOW calls it, so the totals, the averages and the columns cannot drift apart.

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
    public static let fields = StatsFigure.all.map(\.field)

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

/// One figure: the counter, its average over a period, and its name in each SHOW.
public struct StatsFigure: Sendable {
    public enum Average: Sendable {
        /// Counts and bytes: per second of the period.
        case perSecond
        /// Times: per transaction, query or assignment of the period (PgBouncer's avg_*_time are not rates).
        case per(any KeyPath<StatsTotals, Int> & Sendable)
    }

    public let field: any WritableKeyPath<StatsTotals, Int> & Sendable
    public let average: Average
    /// SHOW STATS, after total_ and after avg_ (PgBouncer shortens received to recv in the second).
    public let statsTotal: String
    public let statsAverage: String
    /// SHOW STATS_TOTALS and SHOW STATS_AVERAGES (the latter keeps an avg_ prefix on the prepared-statement figures).
    public let totalsColumn: String
    public let averagesColumn: String
    /// SHOW TOTALS, after total_ or avg_.
    public let totalsRow: String

    init(_ field: any WritableKeyPath<StatsTotals, Int> & Sendable, _ average: Average, _ name: String,
         stats: (total: String, average: String)? = nil, split: String? = nil, averagesColumn: String? = nil,
         totalsRow: String? = nil) {
        self.field = field
        self.average = average
        self.statsTotal = stats?.total ?? name
        self.statsAverage = stats?.average ?? name
        self.totalsColumn = split ?? name
        self.averagesColumn = averagesColumn ?? split ?? name
        self.totalsRow = totalsRow ?? name
    }

    /// PgBouncer 1.25's order.
    public static let all: [StatsFigure] = [
        StatsFigure(\.serverAssignments, .perSecond, "server_assignment_count"),
        StatsFigure(\.xacts, .perSecond, "xact_count"),
        StatsFigure(\.queries, .perSecond, "query_count"),
        StatsFigure(\.received, .perSecond, "received", stats: ("received", "recv"), split: "bytes_received", totalsRow: "client_bytes"),
        StatsFigure(\.sent, .perSecond, "sent", split: "bytes_sent", totalsRow: "server_bytes"),
        StatsFigure(\.xactTime, .per(\.xacts), "xact_time"),
        StatsFigure(\.queryTime, .per(\.queries), "query_time"),
        StatsFigure(\.waitTime, .per(\.serverAssignments), "wait_time"),
        StatsFigure(\.clientParses, .perSecond, "client_parse_count", averagesColumn: "avg_client_parse_count",
                    totalsRow: "ps_client_parse_count"),
        StatsFigure(\.serverParses, .perSecond, "server_parse_count", averagesColumn: "avg_server_parse_count",
                    totalsRow: "ps_server_parse_count"),
        StatsFigure(\.binds, .perSecond, "bind_count", averagesColumn: "avg_bind_count", totalsRow: "ps_bind_count"),
        StatsFigure(\.clientLogins, .perSecond, "client_login_count"),
    ]

    /// This figure's average over a period of `seconds` (> 0) in which the totals grew by `delta`.
    func averaged(_ delta: StatsTotals, seconds: Double) -> Double {
        let value = Double(delta[keyPath: field])
        switch average {
        case .perSecond:
            return value / seconds
        case .per(let unit):
            let n = delta[keyPath: unit]
            return n > 0 ? value / Double(n) : 0
        }
    }
}
