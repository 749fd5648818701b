// The tuning advice as a table: measured pool load and limits in, recommendations out.
import Config
import StatusHTTP
import Testing

@Suite struct TuningAdvisorTests {
    static func pool(_ db: String = "app", size: Int = 20, fromDefault: Bool = true, peak: Int, waiting: Int = 0, waitMs: Double = 0,
                     rate: Double = 100, timeouts: Int = 0, mode: String = "transaction") -> PoolLoad {
        PoolLoad(database: db, user: "u", size: size, sizeFromDefault: fromDefault, peakActive: peak, peakWaiting: waiting,
                 averageWaitMs: waitMs, assignmentsPerSecond: rate, queryWaitTimeouts: timeouts, poolMode: mode)
    }

    static func input(_ pools: [PoolLoad], settings: [String: String] = [:], timeouts: [String: Int] = [:], clients: Int = 10,
                      files: Int = 1_048_576, clientParses: Double = 0, serverParses: Double = 0) -> TuningInput {
        let base = ["default_pool_size": "20", "max_db_connections": "0", "max_client_conn": "100", "max_prepared_statements": "200",
                    "query_timeout": "0"]
        return TuningInput(pools: pools, settings: base.merging(settings) { $1 }, timeouts: timeouts, clientsConnected: clients,
                           serversOpen: 20, fileDescriptorLimit: files, clientParsesPerSecond: clientParses, serverParsesPerSecond: serverParses)
    }

    /// (what was measured, the (setting, recommended, safe) expected).
    static let table: [(String, TuningInput, [(String, String, Bool)])] = [
        ("quiet and well sized", input([pool(peak: 12)]), []),
        ("full pool with a queue grows by half", input([pool(peak: 20, waiting: 6, waitMs: 40)]), [("default_pool_size", "30", true)]),
        ("full pool whose clients hit query_wait_timeout", input([pool(peak: 20, timeouts: 3)]), [("default_pool_size", "30", true)]),
        ("full but nobody waited: no change", input([pool(peak: 20)]), []),
        ("small pools grow by at least two", input([pool(size: 2, peak: 2, waiting: 1)], settings: ["default_pool_size": "2"]),
         [("default_pool_size", "4", true)]),
        ("growth stops at max_db_connections", input([pool(peak: 20, waiting: 3)], settings: ["max_db_connections": "25"]),
         [("default_pool_size", "25", true)]),
        ("at max_db_connections already: the limit is the advice, not safe",
         input([pool(peak: 20, waiting: 3)], settings: ["max_db_connections": "20"]), [("max_db_connections", "30", false)]),
        ("a size from the database line is changed in the file", input([pool(size: 10, fromDefault: false, peak: 10, waiting: 2)]),
         [("pool_size (database app)", "15", false)]),
        ("session mode that runs out also suggests transaction mode", input([pool(peak: 20, waiting: 4, mode: "session")]),
         [("default_pool_size", "30", true), ("pool_mode (database app)", "transaction", false)]),
        ("idle servers shrink the default", input([pool(peak: 3), pool("b", peak: 2)]), [("default_pool_size", "6", true)]),
        ("no traffic is no evidence", input([pool(peak: 0, rate: 0)]), []),
        ("one busy pool keeps the default", input([pool(peak: 3), pool("b", peak: 12)]), []),
        ("clients near max_client_conn", input([pool(peak: 12)], clients: 85), [("max_client_conn", "200", true)]),
        ("max_client_conn beyond the file limit is not safe", input([pool(peak: 12)], clients: 90, files: 200),
         [("max_client_conn", "200", false)]),
        ("statements prepared again and again", input([pool(peak: 12)], clientParses: 5, serverParses: 400),
         [("max_prepared_statements", "400", true)]),
        ("query_timeout hits are reported, never applied", input([pool(peak: 12)], settings: ["query_timeout": "30"], timeouts: ["query_timeout": 4]),
         [("query_timeout", "60", false)]),
    ]

    @Test(arguments: table.indices) func advice(_ i: Int) {
        let (name, input, expected) = Self.table[i]
        let got = TuningAdvisor.advise(input)
        #expect(got.map { "\($0.setting)=\($0.recommended) safe=\($0.safe)" } == expected.map { "\($0.0)=\($0.1) safe=\($0.2)" }, "\(name)")
        #expect(got.allSatisfy { !$0.reason.isEmpty && !$0.current.isEmpty }, "\(name)")
    }

    @Test func reasonsSayWhatWasMeasured() {
        let r = TuningAdvisor.advise(Self.input([Self.pool(peak: 20, waiting: 6, waitMs: 40.25, timeouts: 2)]))
        #expect(r.first?.reason == "all 20 servers of pool app/u were in use, up to 6 client(s) queued, clients waited 40.3 ms on average for a server, 2 client(s) gave up at query_wait_timeout")
        #expect(r.first?.current == "20")
    }

    @Test func reportJSON() {
        let report = TuningReport(recommendations: [TuningRecommendation(setting: "default_pool_size", current: "2", recommended: "4",
                                                                         reason: "a \"queue\"", safe: true)],
                                  applied: [("default_pool_size", "4", nil), ("x", "1", "unknown setting")])
        #expect(report.json(applyRequested: true) == #"{"recommendations":[{"setting":"default_pool_size","current":"2","recommended":"4","reason":"a \"queue\"","safe":true}],"apply":true,"applied":[{"setting":"default_pool_size","value":"4","applied":true},{"setting":"x","value":"1","applied":false,"error":"unknown setting"}]}"#)
    }
}
