// RuntimeSettings: every key it reads exists with the kind it reads it as (a typo would trap here), values as set.
import Testing

@testable import Config

@Suite("RuntimeSettings")
struct RuntimeSettingsTests {
    @Test func defaultsAreThoseOfTheKnownSettings() throws {
        let dir = try TempDir()
        let s = RuntimeSettings(try loadValid(try dir.write("p.ini", "[databases]\n[pgbouncer]\nauth_type = trust\n")))
        #expect(s.maxPreparedStatements == 200 && !s.refusePins && s.maxClientConn == 100)
        #expect(s.queryTimeout == 0 && s.clientLoginTimeout == 60 && s.statsPeriod == 60)
    }

    @Test func valuesFromTheFileAndTheEnvironment() throws {
        let dir = try TempDir()
        let path = try dir.write("p.ini", """
            [databases]
            [pgbouncer]
            auth_type = trust
            max_prepared_statements = 0
            session_pinning = refuse
            query_timeout = 2.5
            max_packet_size = 4096
            max_client_conn = 7
            log_connections = 0
            """)
        let s = RuntimeSettings(try loadValid(path, environment: ["PGSWIFT_CLIENT_IDLE_TIMEOUT": "30"]))
        #expect(s.maxPreparedStatements == 0 && s.refusePins && s.queryTimeout == 2.5 && s.maxPacketSize == 4096)
        #expect(!s.logConnections && s.clientIdleTimeout == 30 && s.maxClientConn == 7)
    }
}

@Suite("EventLoopCount")
struct EventLoopCountTests {
    @Test("threads as set wins; the default is one loop on up to two cores, one per core above", arguments: [
        (configured: 3, cores: 2, loops: 3), (configured: 1, cores: 16, loops: 1),
        (configured: 0, cores: 1, loops: 1), (configured: 0, cores: 2, loops: 1),
        (configured: 0, cores: 4, loops: 4), (configured: 0, cores: 16, loops: 16),
    ])
    func loops(_ c: (configured: Int, cores: Int, loops: Int)) {
        #expect(EventLoopCount.resolve(configured: c.configured, cores: c.cores) == c.loops)
    }
}
